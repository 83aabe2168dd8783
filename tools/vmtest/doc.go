// Package vmtest holds virtinit's real-VM integration tests: they build an
// initrd with the /init binary and a real Debian kernel's modules, boot it
// under qemu with virtiofsd sharing a busybox root, and let a guest-side
// checker (./checker, run as init=) report what it sees from inside.
//
// The tests need qemu-system-x86_64, virtiofsd, a static busybox, the
// kernels that tools/fetch-deps puts into the cache and a built /init.
// They read:
//
//	VIRTINIT_CACHE       the cache of tools/fetch-deps (default: <repo>/.cache)
//	VIRTINIT_INIT        the /init binary (default: <repo>/out/initrd)
//	VIRTINIT_REQUIRE_VM  "1": a missing part fails the tests instead of
//	                     skipping them (CI, make check)
//
// Relative paths are taken from tools/, where `go test ./...` runs.
//
// Every boot runs under TCG and takes several seconds, so at most two run
// at a time, and each boot checks several independent things.
package vmtest
