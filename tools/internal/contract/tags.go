package contract

import "strings"

// MaxTag is the size of the tag field of the virtio-fs device's
// configuration (struct virtio_fs_config in linux/virtio_fs.h).
const MaxTag = 36

// TagError says why a virtiofs tag is refused.
type TagError struct {
	Tag string
	Why string // "is empty", "is longer than 36 bytes", "is given twice", ...
}

func (e *TagError) Error() string { return `virtiofs tag "` + e.Tag + `" ` + e.Why }

// CheckTag applies /init's rules for one virtiofs tag (validateTags in
// the root package's cmdline.go): /init mounts it at /run/mnt/TAG, so it
// is a plain directory name that fits the device's tag field. A NUL byte,
// which no command line carries, is refused too. The table
// testdata/virtiofs-tags.json of the repository holds both to the same
// rules.
func CheckTag(tag string) error {
	why := ""
	switch {
	case tag == "":
		why = "is empty"
	case len(tag) > MaxTag:
		why = "is longer than 36 bytes"
	case tag == "." || tag == "..":
		why = "is not a name"
	case strings.Contains(tag, "/"):
		why = "contains '/'"
	case strings.ContainsRune(tag, 0):
		why = "contains a NUL byte"
	default:
		return nil
	}
	return &TagError{Tag: tag, Why: why}
}

// CheckTags checks tags given together: each by CheckTag, and no two the
// same.
func CheckTags(tags []string) error {
	for i, tag := range tags {
		if err := CheckTag(tag); err != nil {
			return err
		}
		for _, other := range tags[:i] {
			if other == tag {
				return &TagError{Tag: tag, Why: "is given twice"}
			}
		}
	}
	return nil
}
