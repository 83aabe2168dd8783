# virtinit: the /init of a tiny initrd that boots a VM from a virtiofs root.
# `make help` lists the targets.

GO       ?= go
GOARCH   ?= $(shell $(GO) env GOARCH)
HOSTARCH := $(shell $(GO) env GOHOSTARCH)
# A dist tarball carries its version in VERSION; a checkout asks git.
VERSION  ?= $(shell cat VERSION 2>/dev/null || git describe --always --dirty 2>/dev/null || echo devel)
OUT      ?= out
# The cache of kernels and other real parts (tools/fetch-deps): the
# environment's VIRTINIT_CACHE, else .cache here; always absolute, since
# the tests run in tools/.
CACHE    ?= $(abspath $(or $(VIRTINIT_CACHE),.cache))
DESTDIR  ?=
# The binary is named after its install path, where osbuild looks for it.
BIN      := $(OUT)/$(GOARCH)/initrd
BUILD    := CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags='-s -w -X main.version=$(VERSION)'
# The size budget: the binary against an empty main importing x/sys/unix
# (1.03 until the supervised run of issue 10; README.md, Size).
SIZE_MAX := 1.05

.PHONY: all help build tools vendor install dist distcheck size test check initrd rootfs demo bench fetch clean

all: build tools

help:
	@echo 'make build      the static /init binary: $(BIN) (GOARCH=arm64 for arm64)'
	@echo 'make tools      mkvirtinitrd and chrootvm for this machine into $(OUT)/'
	@echo 'make test       unit tests (go test -short): no root, no VM'
	@echo 'make check      everything: fetches qemu, kernels and busybox, boots real VMs'
	@echo 'make fetch      tools/fetch-deps for amd64 and arm64 into $(CACHE) (as root)'
	@echo 'make rootfs     a busybox root to boot: $(OUT)/$(GOARCH)/rootfs'
	@echo 'make size       binary size against the x/sys/unix floor (budget $(SIZE_MAX))'
	@echo 'make initrd     an initrd for KMODDIR=/lib/modules/KVER into $(OUT)/initrd.img'
	@echo 'make demo       build everything and boot a busybox VM'
	@echo 'make bench      boot timings under qemu (see tools/cmd/bench/README.md)'
	@echo 'make install    $(DESTDIR)/usr/lib/osbuild/initrd/initrd'
	@echo 'make dist       a tarball with vendored modules; distcheck builds it offline'

build:
	$(BUILD) -o $(BIN) .
	@[ "$(GOARCH)" != "$(HOSTARCH)" ] || ln -sf $(GOARCH)/initrd $(OUT)/initrd

# The tools run here, whatever GOARCH the /init binary is built for.
tools:
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -trimpath -o ../$(OUT)/ ./cmd/mkvirtinitrd ./cmd/chrootvm

vendor:
	$(GO) mod vendor
	cd tools && $(GO) mod vendor

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/lib/osbuild/initrd/initrd

DIST := virtinit-$(VERSION)
dist:
	rm -rf $(OUT)/dist && mkdir -p $(OUT)/dist/$(DIST)
	git ls-files -z | xargs -0 cp --parents -t $(OUT)/dist/$(DIST)
	cd $(OUT)/dist/$(DIST) && $(GO) mod vendor && cd tools && $(GO) mod vendor
	echo $(VERSION) > $(OUT)/dist/$(DIST)/VERSION
	tar -C $(OUT)/dist -czf $(OUT)/$(DIST).tar.gz $(DIST)
	@echo $(OUT)/$(DIST).tar.gz

# distcheck unpacks the tarball and builds it with the network cut off.
distcheck: dist
	rm -rf $(OUT)/distcheck && mkdir -p $(OUT)/distcheck
	tar -C $(OUT)/distcheck -xzf $(OUT)/$(DIST).tar.gz
	cd $(OUT)/distcheck/$(DIST) && GOFLAGS=-mod=vendor GOPROXY=off \
		$(MAKE) build tools VERSION=$(VERSION) GOARCH=$(GOARCH)
	@echo distcheck ok

# size builds the binary and two floors with the same toolchain and flags,
# for amd64 and arm64: an empty main, and an empty main that imports
# golang.org/x/sys/unix. tools/cmd/sizecheck says which size the budget
# applies to on each (the file size; on arm64, whose segments are aligned
# to 64 KiB, the size without that padding). SIZE_JSON=DIR also writes its
# figures as DIR/ARCH.json (the benchmark reads them).
SIZE_ARCHES ?= amd64 arm64
SIZE_JSON   ?=
size:
	@mkdir -p $(OUT)/_floor/empty $(OUT)/_floor/unix
	@printf 'package main\n\nfunc main() {}\n' > $(OUT)/_floor/empty/main.go
	@printf 'package main\n\nimport _ "golang.org/x/sys/unix"\n\nfunc main() {}\n' > $(OUT)/_floor/unix/main.go
	@cd tools && $(GO) build -o ../$(OUT)/_floor/sizecheck ./cmd/sizecheck
	@status=0; for arch in $(SIZE_ARCHES); do \
		$(MAKE) -s build GOARCH=$$arch || exit 1; \
		CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $(OUT)/_floor/empty.$$arch ./$(OUT)/_floor/empty || exit 1; \
		CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $(OUT)/_floor/unix.$$arch ./$(OUT)/_floor/unix || exit 1; \
		$(OUT)/_floor/sizecheck -max $(SIZE_MAX) $(if $(SIZE_JSON),-json $(SIZE_JSON)/$$arch.json) $$arch $(OUT)/$$arch/initrd $(OUT)/_floor/empty.$$arch $(OUT)/_floor/unix.$$arch || status=1; \
	done; exit $$status

# test runs the unit tests: -short leaves out every test that boots a VM
# (tools/internal/testenv.NeedVM); tests that read the cache's kernels
# without booting them run when the cache is there.
test:
	$(GO) test -short ./...
	cd tools && GOARCH=$(HOSTARCH) $(GO) test -short ./...

# check is the project's test command: it fetches every real part it needs
# (qemu, virtiofsd, busybox, Debian kernels; arm64's too) and boots real
# VMs, x86_64 and arm64 (under TCG). tools/internal/testrun prints a line
# per package, per failed or skipped test and per test of a second or more
# (every VM scenario) as it ends, and a summary naming every skipped and
# failed test, also kept in $(OUT)/test-summary. -timeout is a guard
# against a hang (every boot has its own bound), not the suite's budget: on
# a loaded two-core machine the VM suite alone ran for more than 30 minutes.
check:
	gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './out/*' -not -path '*/vendor/*') | tee /dev/stderr | (! read -r _)
	$(GO) vet ./...
	cd tools && $(GO) vet ./...
	$(MAKE) size
	$(MAKE) fetch
	$(MAKE) build GOARCH=amd64
	$(MAKE) build GOARCH=arm64
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -o ../$(OUT)/testrun ./internal/testrun
	@rm -f $(OUT)/test-summary
	@status=0; \
	VIRTINIT_REQUIRE_VM=1 $(OUT)/testrun -summary $(OUT)/test-summary . ./... || status=1; \
	VIRTINIT_CACHE=$(CACHE) VIRTINIT_INIT=$(CURDIR)/$(OUT)/amd64/initrd \
		VIRTINIT_INIT_ARM64=$(CURDIR)/$(OUT)/arm64/initrd VIRTINIT_REQUIRE_VM=1 \
		$(OUT)/testrun -summary $(OUT)/test-summary tools -timeout 60m ./... || status=1; \
	exit $$status

# fetch installs and fetches every real part `make check` boots (as root):
# qemu, virtiofsd and busybox-static on the host, Debian's kernels (and
# arm64's busybox) unpacked into $(CACHE), never installed.
fetch:
	VIRTINIT_CACHE=$(CACHE) tools/fetch-deps
	VIRTINIT_CACHE=$(CACHE) tools/fetch-deps --arch arm64

# rootfs makes a busybox root to try chrootvm on (GOARCH=arm64 for arm64's,
# from the cache: make fetch first).
rootfs:
	cd tools && GOARCH=$(HOSTARCH) VIRTINIT_CACHE=$(CACHE) $(GO) run ./internal/mkrootfs -arch $(GOARCH) $(CURDIR)/$(OUT)/$(GOARCH)/rootfs

KMODDIR ?= /lib/modules/$(shell uname -r)
initrd: build tools
	$(OUT)/mkvirtinitrd $(BIN) $(KMODDIR) $(OUT)/initrd.img

demo: build tools
	tools/demo

bench: build tools
	cd tools && $(GO) run ./cmd/bench $(if $(BASE),-base '$(BASE)') $(BENCHFLAGS)

clean:
	rm -rf $(OUT)
