// Package vmtest holds virtinit's real-VM integration tests: they build an
// initrd with the /init binary and a real Debian kernel's modules, boot it
// under qemu with virtiofsd sharing a busybox root, and let a guest-side
// checker (./checker, run as init=) report what it sees from inside.
//
// The tests need qemu-system-x86_64, virtiofsd, a static busybox, the
// kernels that tools/fetch-deps puts into the cache and a built /init;
// on arm64 (aarch64 under TCG), qemu-system-aarch64 and the arm64 kernel
// and busybox of tools/fetch-deps --arch arm64, and an arm64 /init (make
// build GOARCH=arm64). They read:
//
//	VIRTINIT_CACHE       the cache of tools/fetch-deps (default: <repo>/.cache)
//	VIRTINIT_INIT        the /init binary (default: <repo>/out/initrd)
//	VIRTINIT_INIT_ARM64  the arm64 /init binary (default: <repo>/out/arm64/initrd)
//	VIRTINIT_REQUIRE_VM  "1": a missing part of either architecture fails
//	                     the tests instead of skipping them (CI, make check)
//
// Relative paths are taken from tools/, where `go test ./...` runs.
//
// TestBoot's scenarios that share directories and TestChrootvm's cases
// run on x86_64 with each virtiofsd, as subtests named after it: "c",
// qemu's C daemon at /usr/lib/qemu/virtiofsd (Debian 12's
// qemu-system-common), and "rust", the Rust daemon tools/fetch-deps puts
// into the cache (virtiofsd/virtiofsd). A missing daemon skips its
// subtests, or fails them under VIRTINIT_REQUIRE_VM=1. On arm64 they run
// with the C daemon. The other tests use vm's default choice.
//
// Every boot runs under TCG and takes several seconds (x86_64 7-10 s,
// arm64 2-4 s), so at most two run at a time, whatever the architecture,
// and each boot checks several independent things.
package vmtest
