# virtinit: the /init of a tiny initrd that boots a VM from a virtiofs root.
# `make help` lists the targets.

GO       ?= go
# OLDGO is the oldest Go that builds virtinit: go.mod's go line at its last
# patch release (README.md, Go releases). The go command fetches it through
# the module proxy (GOTOOLCHAIN=$(OLDGO)); make check and make size build
# and test /init with it as well as with $(GO).
OLDGO    ?= go1.22.12
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
# make install's prefix and program, as osbuild.spec's %make_install passes
# them (INSTALL="install -p").
LIBDIR   ?= /usr/lib
INSTALL  ?= install
# The binary is named after its install path, where osbuild looks for it.
BIN      := $(OUT)/$(GOARCH)/initrd
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w -X main.version=$(VERSION)'
BUILD    := GOARCH=$(GOARCH) $(GOBUILD)
# The size budget (README.md, Size): the bytes /init adds to an empty main
# importing x/sys/unix, with every toolchain make size builds with; and the
# goal for the release build, amd64 with $(OLDGO), as a whole.
SIZE_OVER  := 81920
SIZE_LIMIT := 1000000

.PHONY: all help build build-oldgo tools vendor install dist distcheck size test check initrd rootfs demo bench fetch clean

all: build tools

help:
	@echo 'make build      the static /init binary: $(BIN) (GOARCH=arm64 for arm64), and ./initrd for this machine'
	@echo 'make tools      mkvirtinitrd and chrootvm for this machine into $(OUT)/'
	@echo 'make test       unit tests (go test -short): no root, no VM'
	@echo 'make check      everything: fetches qemu, kernels and busybox, boots real VMs, with $(OLDGO) and $(GO)'
	@echo 'make build-oldgo /init for amd64 and arm64 built with $(OLDGO): $(OUT)/$(OLDGO)/ARCH/initrd'
	@echo 'make fetch      tools/fetch-deps for amd64 and arm64 into $(CACHE) (as root)'
	@echo 'make rootfs     a busybox root to boot: $(OUT)/$(GOARCH)/rootfs'
	@echo 'make size       binary size against the x/sys/unix floor, with $(OLDGO) and $(GO) (budget $(SIZE_OVER) bytes)'
	@echo 'make initrd     an initrd for KMODDIR=/lib/modules/KVER into $(OUT)/initrd.img'
	@echo 'make demo       build everything and boot a busybox VM'
	@echo 'make bench      boot timings under qemu (see tools/cmd/bench/README.md)'
	@echo 'make install    $$(DESTDIR)$(LIBDIR)/osbuild/initrd/initrd, where osbuild looks (LIBDIR, INSTALL)'
	@echo 'make dist       $(OUT)/$(DIST).tar.gz: osbuild-initrd-VERSION/ with vendored modules'
	@echo 'make distcheck  builds the tarball offline as osbuild does, with $(OLDGO) and $(GO)'
	@echo 'make vendor     vendor/ and tools/vendor/ (make dist makes its own)'
	@echo 'make clean      removes $(OUT) and ./initrd (the cache stays: rm -rf $(CACHE))'

# build also leaves this machine's binary at ./initrd, where osbuild's
# developer flow reads it (its Makefile's initrd target unpacks the tarball
# into initrd/ and runs make -C initrd build; osbuild/qemu.py then opens
# LIBDIR/initrd/initrd).
build:
	$(BUILD) -o $(BIN) .
	@if [ "$(GOARCH)" = "$(HOSTARCH)" ]; then ln -sf $(GOARCH)/initrd $(OUT)/initrd && cp -p $(BIN) initrd; fi

# build-oldgo builds /init for amd64 and arm64 with $(OLDGO) into
# $(OUT)/$(OLDGO)/ARCH/initrd, for make check's second pass.
build-oldgo:
	for arch in amd64 arm64; do \
		GOTOOLCHAIN=$(OLDGO) GOARCH=$$arch $(GOBUILD) -o $(OUT)/$(OLDGO)/$$arch/initrd . || exit 1; \
	done

# The tools run here, whatever GOARCH the /init binary is built for.
tools:
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -trimpath -o ../$(OUT)/ ./cmd/mkvirtinitrd ./cmd/chrootvm

vendor:
	$(GO) mod vendor
	cd tools && $(GO) mod vendor

install: build
	$(INSTALL) -D -m 0755 $(BIN) $(DESTDIR)$(LIBDIR)/osbuild/initrd/initrd

# The tarball is osbuild.spec's Source1: osbuild-initrd-VERSION.tar.gz with
# the single top directory osbuild-initrd-VERSION.
DIST := osbuild-initrd-$(VERSION)
dist:
	rm -rf $(OUT)/dist && mkdir -p $(OUT)/dist/$(DIST)
	git ls-files -z | xargs -0 cp --parents -t $(OUT)/dist/$(DIST)
	cd $(OUT)/dist/$(DIST) && $(GO) mod vendor && cd tools && $(GO) mod vendor
	echo $(VERSION) > $(OUT)/dist/$(DIST)/VERSION
	tar -C $(OUT)/dist -czf $(OUT)/$(DIST).tar.gz $(DIST)
	@echo $(OUT)/$(DIST).tar.gz

# distcheck builds make dist's tarball as osbuild does (its RPM spec's
# %prep, %build and %install, and its Makefile's developer flow), offline,
# with $(OLDGO) and with the installed Go: tools/disttest.
distcheck:
	cd tools && VIRTINIT_OLDGO=$(OLDGO) $(GO) test -count=1 -v -run TestOsbuildFlows ./disttest

# size builds the binary and two floors with the same toolchain and flags,
# for amd64 and arm64, once with each of SIZE_GOS ($(OLDGO) and the
# installed Go): an empty main, and an empty main that imports
# golang.org/x/sys/unix. tools/cmd/sizecheck judges the bytes /init adds to
# the second floor (the file size; on arm64, whose segments are aligned to
# 64 KiB, the size without that padding), and the release build, amd64
# with $(OLDGO), against SIZE_LIMIT as a whole. SIZE_JSON=DIR also writes
# the figures as DIR/ARCH.json for the installed Go and DIR/GO-ARCH.json
# for the others (the benchmark reads them).
SIZE_ARCHES ?= amd64 arm64
SIZE_GOS    ?= $(OLDGO) local
SIZE_JSON   ?=
size:
	@mkdir -p $(OUT)/_floor/empty $(OUT)/_floor/unix
	@printf 'package main\n\nfunc main() {}\n' > $(OUT)/_floor/empty/main.go
	@printf 'package main\n\nimport _ "golang.org/x/sys/unix"\n\nfunc main() {}\n' > $(OUT)/_floor/unix/main.go
	@cd tools && $(GO) build -o ../$(OUT)/_floor/sizecheck ./cmd/sizecheck
	@status=0; for gover in $(SIZE_GOS); do \
		export GOTOOLCHAIN=$$gover; dir=$(OUT)/_floor/$$gover; mkdir -p $$dir; \
		echo "== $$($(GO) env GOVERSION)"; \
		for arch in $(SIZE_ARCHES); do \
			GOARCH=$$arch $(GOBUILD) -o $$dir/initrd.$$arch . || exit 1; \
			CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $$dir/empty.$$arch ./$(OUT)/_floor/empty || exit 1; \
			CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -ldflags='-s -w' -o $$dir/unix.$$arch ./$(OUT)/_floor/unix || exit 1; \
			limit=0; [ "$$gover-$$arch" != "$(OLDGO)-amd64" ] || limit=$(SIZE_LIMIT); \
			json=; [ -z "$(SIZE_JSON)" ] || json="--json $(SIZE_JSON)/$$([ $$gover = local ] || echo $$gover-)$$arch.json"; \
			$(OUT)/_floor/sizecheck --over $(SIZE_OVER) --limit $$limit $$json $$arch $$dir/initrd.$$arch $$dir/empty.$$arch $$dir/unix.$$arch || status=1; \
		done; \
	done; exit $$status

# test runs the unit tests: -short leaves out every test that boots a VM
# (tools/internal/testenv.NeedVM); tests that read the cache's kernels
# without booting them run when the cache is there.
test:
	$(GO) test -short ./...
	cd tools && GOARCH=$(HOSTARCH) $(GO) test -short ./...

# check is the project's test command: it fetches every real part it needs
# (qemu, virtiofsd, busybox, Debian kernels; arm64's too) and boots real
# VMs, x86_64 and arm64 (under TCG). It tests both ends of the Go releases
# that build virtinit: the installed Go runs everything; $(OLDGO) (fetched
# through the module proxy) runs both modules' unit tests, and the /init
# it builds boots every TestBoot scenario (6.1, 6.12, arm64, both
# virtiofsd). tools/internal/testrun prints a line per package, per failed
# or skipped test and per test of a second or more (every VM scenario) as
# it ends, and a summary naming every skipped and failed test, also kept in
# $(OUT)/test-summary. -timeout is a guard against a hang (every boot has
# its own bound), not the suite's budget: on a loaded two-core machine the
# VM suite alone ran for more than 30 minutes.
VMENV = VIRTINIT_CACHE=$(CACHE) VIRTINIT_REQUIRE_VM=1 VIRTINIT_OLDGO=$(OLDGO)
check:
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './out/*' -not -path '*/vendor/*')); \
	if [ -n "$$files" ]; then echo "gofmt -l lists these files:" >&2; echo "$$files" >&2; exit 1; fi
	$(GO) vet ./...
	cd tools && $(GO) vet ./...
	GOTOOLCHAIN=$(OLDGO) $(GO) vet ./...
	cd tools && GOTOOLCHAIN=$(OLDGO) $(GO) vet ./...
	$(MAKE) size
	$(MAKE) fetch
	$(MAKE) build GOARCH=amd64
	$(MAKE) build GOARCH=arm64
	$(MAKE) build-oldgo
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -o ../$(OUT)/testrun ./internal/testrun
	@rm -f $(OUT)/test-summary
	@status=0; \
	VIRTINIT_REQUIRE_VM=1 $(OUT)/testrun --summary $(OUT)/test-summary . ./... || status=1; \
	$(VMENV) VIRTINIT_INIT=$(CURDIR)/$(OUT)/amd64/initrd VIRTINIT_INIT_ARM64=$(CURDIR)/$(OUT)/arm64/initrd \
		$(OUT)/testrun --summary $(OUT)/test-summary tools -timeout 60m ./... || status=1; \
	GOTOOLCHAIN=$(OLDGO) VIRTINIT_REQUIRE_VM=1 $(OUT)/testrun --summary $(OUT)/test-summary . ./... || status=1; \
	GOTOOLCHAIN=$(OLDGO) $(OUT)/testrun --summary $(OUT)/test-summary tools -short ./... || status=1; \
	$(VMENV) VIRTINIT_INIT=$(CURDIR)/$(OUT)/$(OLDGO)/amd64/initrd VIRTINIT_INIT_ARM64=$(CURDIR)/$(OUT)/$(OLDGO)/arm64/initrd \
		$(OUT)/testrun --summary $(OUT)/test-summary tools -timeout 30m -run '^TestBoot$$' ./vmtest || status=1; \
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
	cd tools && GOARCH=$(HOSTARCH) VIRTINIT_CACHE=$(CACHE) $(GO) run ./internal/mkrootfs --arch $(GOARCH) $(CURDIR)/$(OUT)/$(GOARCH)/rootfs

KMODDIR ?= /lib/modules/$(shell uname -r)
initrd: build tools
	$(OUT)/mkvirtinitrd $(BIN) $(KMODDIR) $(OUT)/initrd.img

demo: build tools
	tools/demo

bench: build tools
	cd tools && $(GO) run ./cmd/bench $(if $(BASE),-base '$(BASE)') $(BENCHFLAGS)

clean:
	rm -rf $(OUT) initrd
