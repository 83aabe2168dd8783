# virtinit: the /init of a tiny initrd that boots a VM from a virtiofs root.
# `make help` lists the targets.

GO       ?= go
# OLDGO is the oldest Go that builds virtinit: go.mod's go line at its last
# patch release (README.md, Go releases). The go command fetches it through
# the module proxy (GOTOOLCHAIN=$(OLDGO)); make check and make size build
# and test /init with it as well as with $(GO).
OLDGO    ?= go1.22.12
# GOARCH and HOSTARCH ask the go command only when a target needs them
# (make clean and make help work without a toolchain).
GOARCH   ?= $(shell $(GO) env GOARCH)
HOSTARCH  = $(shell $(GO) env GOHOSTARCH)
# A dist tarball carries its version in VERSION; a checkout of ours asks
# git (not a repository around an unpacked tarball, such as osbuild's own
# checkout in its developer flow); anything else is devel. The version
# goes into the binary and the tarball's name: one word of letters,
# digits and . _ + ~ -.
VERSION  ?= $(shell cat VERSION 2>/dev/null || { [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ] && git describe --always --dirty; } || echo devel)
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
BIN       = $(OUT)/$(GOARCH)/initrd
# -buildvcs=false: the binary is the same whether it is built in a git
# checkout (osbuild's, around the unpacked tarball, perhaps owned by
# another user) or not, and a checkout's state is no part of it.
GOBUILD   = CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags='-s -w -X main.version=$(VERSION)'
BUILD     = GOARCH=$(GOARCH) $(GOBUILD)
OUTABS    = $(abspath $(OUT))

# checkversion refuses a VERSION that the shell, the linker or a file
# name would read otherwise.
versionchars := a b c d e f g h i j k l m n o p q r s t u v w x y z A B C D E F G H I J K L M N O P Q R S T U V W X Y Z 0 1 2 3 4 5 6 7 8 9 . _ + ~ -
stripchars = $(if $(2),$(call stripchars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
checkversion = $(if $(or $(call stripchars,$(subst $(eval) ,?,$(VERSION)),$(versionchars)),$(if $(VERSION),,empty)),$(error VERSION "$(VERSION)": want one word of letters, digits and . _ + ~ - (from the VERSION file, git describe or the command line)))

# The size budget (README.md, Size): the bytes /init adds to an empty main
# importing x/sys/unix, with every toolchain make size builds with; and the
# goal for the release build, amd64 with $(OLDGO), as a whole.
SIZE_OVER  := 81920
SIZE_LIMIT := 1000000

.PHONY: all help build build-oldgo tools vendor install dist distcheck size test check initrd rootfs demo bench fetch clean

all: build tools

help:
	@printf '%-17s %s\n' 'make build' 'the static /init binary: $(BIN) (GOARCH=arm64 for arm64), and ./initrd for this machine'
	@printf '%-17s %s\n' 'make tools' 'mkvirtinitrd and chrootvm for this machine into $(OUT)/'
	@printf '%-17s %s\n' 'make test' 'unit tests (go test -short): no root, no VM'
	@printf '%-17s %s\n' 'make check' 'everything: fetches qemu, kernels and busybox, boots real VMs, with $(OLDGO) and $(GO)'
	@printf '%-17s %s\n' 'make build-oldgo' '/init for amd64 and arm64 built with $(OLDGO): $(OUT)/$(OLDGO)/ARCH/initrd'
	@printf '%-17s %s\n' 'make fetch' 'tools/fetch-deps for amd64 and arm64 into $(CACHE) (as root)'
	@printf '%-17s %s\n' 'make rootfs' 'a busybox root to boot: $(OUT)/$(GOARCH)/rootfs'
	@printf '%-17s %s\n' 'make size' 'binary size against the x/sys/unix floor, with $(OLDGO) and $(GO) (budget $(SIZE_OVER) bytes)'
	@printf '%-17s %s\n' 'make initrd' 'an initrd for KMODDIR=/lib/modules/KVER into $(OUT)/initrd.img'
	@printf '%-17s %s\n' 'make demo' 'build everything and boot a busybox VM'
	@printf '%-17s %s\n' 'make bench' 'boot timings under qemu (see tools/cmd/bench/README.md)'
	@printf '%-17s %s\n' 'make install' 'installs make build'"'"'s binary as $$(DESTDIR)$(LIBDIR)/osbuild/initrd/initrd, where osbuild looks (LIBDIR, INSTALL)'
	@printf '%-17s %s\n' 'make dist' '$(OUT)/$(DIST).tar.gz: osbuild-initrd-VERSION/ with vendored modules'
	@printf '%-17s %s\n' 'make distcheck' 'builds the tarball offline as osbuild does, with $(OLDGO) and $(GO)'
	@printf '%-17s %s\n' 'make vendor' 'vendor/ and tools/vendor/ (make dist makes its own)'
	@printf '%-17s %s\n' 'make clean' 'removes $(OUT), ./initrd and _floor/ (the cache stays: rm -rf $(CACHE))'

# build also leaves this machine's binary at ./initrd, where osbuild's
# developer flow reads it (its Makefile's initrd target unpacks the tarball
# into initrd/ and runs make -C initrd build; osbuild/qemu.py then opens
# LIBDIR/initrd/initrd).
build:
	$(checkversion)$(BUILD) -o $(BIN) .
	@if [ "$(GOARCH)" = "$(HOSTARCH)" ]; then ln -sf $(GOARCH)/initrd $(OUT)/initrd && cp -p $(BIN) initrd; fi

# build-oldgo builds /init for amd64 and arm64 with $(OLDGO) into
# $(OUT)/$(OLDGO)/ARCH/initrd, for make check's second pass.
build-oldgo:
	$(checkversion)for arch in amd64 arm64; do \
		GOTOOLCHAIN=$(OLDGO) GOARCH=$$arch $(GOBUILD) -o $(OUT)/$(OLDGO)/$$arch/initrd . || exit 1; \
	done

# The tools run here, whatever GOARCH the /init binary is built for.
tools:
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -trimpath -o $(OUTABS)/ ./cmd/mkvirtinitrd ./cmd/chrootvm

vendor:
	$(GO) mod vendor
	cd tools && $(GO) mod vendor

# install installs what make build built, and builds it only when there is
# none: GOTOOLCHAIN=go1.22.12 make build, then make install, installs Go
# 1.22's binary (BIN=out/go1.22.12/amd64/initrd installs make build-oldgo's).
install:
	@[ -f $(BIN) ] || $(MAKE) build
	$(INSTALL) -D -m 0755 $(BIN) $(DESTDIR)$(LIBDIR)/osbuild/initrd/initrd

# The tarball is osbuild.spec's Source1: osbuild-initrd-VERSION.tar.gz with
# the single top directory osbuild-initrd-VERSION.
DIST  = osbuild-initrd-$(VERSION)
dist:
	$(checkversion)@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo 'make dist: not a git checkout: the tarball holds the files git tracks' >&2; exit 1; }
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
	@[ -n "$(strip $(SIZE_GOS))" ] || { echo 'make size: SIZE_GOS names no Go release' >&2; exit 1; }
	@case " $(SIZE_GOS) " in *" $(OLDGO) "*) ;; *) echo "make size: SIZE_GOS lacks $(OLDGO): the release build's limit ($(SIZE_LIMIT) bytes) is not checked" >&2;; esac
	@mkdir -p _floor/empty _floor/unix $(OUT)/_floor
	@printf 'package main\n\nfunc main() {}\n' > _floor/empty/main.go
	@printf 'package main\n\nimport _ "golang.org/x/sys/unix"\n\nfunc main() {}\n' > _floor/unix/main.go
	@cd tools && $(GO) build -o $(OUTABS)/_floor/sizecheck ./cmd/sizecheck
	@status=0; for gover in $(SIZE_GOS); do \
		export GOTOOLCHAIN=$$gover; dir=$(OUT)/_floor/$$gover; mkdir -p $$dir; \
		version=$$($(GO) env GOVERSION) || exit 1; echo "== $$version"; \
		for arch in $(SIZE_ARCHES); do \
			GOARCH=$$arch $(GOBUILD) -o $$dir/initrd.$$arch . || exit 1; \
			CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags='-s -w' -o $$dir/empty.$$arch ./_floor/empty || exit 1; \
			CGO_ENABLED=0 GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags='-s -w' -o $$dir/unix.$$arch ./_floor/unix || exit 1; \
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
# VET_ARCHES are the other architectures osbuild is packaged for, or
# might be: /init must build there, though make check boots only amd64
# and arm64.
VET_ARCHES = 386 arm ppc64le s390x riscv64
VMENV = VIRTINIT_CACHE=$(CACHE) VIRTINIT_REQUIRE_VM=1 VIRTINIT_OLDGO=$(OLDGO)
check:
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './out/*' -not -path '*/vendor/*')); \
	if [ -n "$$files" ]; then echo "gofmt -l lists these files:" >&2; echo "$$files" >&2; exit 1; fi
	$(GO) vet ./...
	cd tools && $(GO) vet ./...
	GOTOOLCHAIN=$(OLDGO) $(GO) vet ./...
	cd tools && GOTOOLCHAIN=$(OLDGO) $(GO) vet ./...
	for arch in $(VET_ARCHES); do GOARCH=$$arch $(GO) vet . || exit 1; done
	$(MAKE) size
	$(MAKE) fetch
	$(MAKE) build GOARCH=amd64
	$(MAKE) build GOARCH=arm64
	$(MAKE) build-oldgo
	cd tools && GOARCH=$(HOSTARCH) $(GO) build -o $(OUTABS)/testrun ./internal/testrun
	@rm -f $(OUT)/test-summary
	@status=0; \
	VIRTINIT_REQUIRE_VM=1 $(OUT)/testrun --summary $(OUT)/test-summary . ./... || status=1; \
	$(VMENV) VIRTINIT_INIT=$(OUTABS)/amd64/initrd VIRTINIT_INIT_ARM64=$(OUTABS)/arm64/initrd \
		$(OUT)/testrun --summary $(OUT)/test-summary tools -timeout 60m ./... || status=1; \
	GOTOOLCHAIN=$(OLDGO) VIRTINIT_REQUIRE_VM=1 $(OUT)/testrun --summary $(OUT)/test-summary . ./... || status=1; \
	GOTOOLCHAIN=$(OLDGO) $(OUT)/testrun --summary $(OUT)/test-summary tools -short ./... || status=1; \
	$(VMENV) VIRTINIT_INIT=$(OUTABS)/$(OLDGO)/amd64/initrd VIRTINIT_INIT_ARM64=$(OUTABS)/$(OLDGO)/arm64/initrd \
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
	cd tools && GOARCH=$(HOSTARCH) VIRTINIT_CACHE=$(CACHE) $(GO) run ./internal/mkrootfs --arch $(GOARCH) $(OUTABS)/$(GOARCH)/rootfs

KMODDIR ?= /lib/modules/$(shell uname -r)
initrd: build tools
	$(OUT)/mkvirtinitrd $(BIN) $(KMODDIR) $(OUT)/initrd.img

demo: build tools
	tools/demo

bench: build tools
	cd tools && $(GO) run ./cmd/bench $(if $(BASE),--base '$(BASE)') $(BENCHFLAGS)

clean:
	rm -rf $(OUT) initrd _floor
