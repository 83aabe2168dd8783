# virtinit: the /init of a tiny initrd that boots a VM from a virtiofs root.
# `make help` lists the targets.

GO       ?= go
GOARCH   ?= $(shell $(GO) env GOARCH)
HOSTARCH := $(shell $(GO) env GOHOSTARCH)
# A dist tarball carries its version in VERSION; a checkout asks git.
VERSION  ?= $(shell cat VERSION 2>/dev/null || git describe --always --dirty 2>/dev/null || echo devel)
OUT      ?= out
CACHE    ?= $(CURDIR)/.cache
DESTDIR  ?=
# The binary is named after its install path, where osbuild looks for it.
BIN      := $(OUT)/$(GOARCH)/initrd
BUILD    := CGO_ENABLED=0 GOARCH=$(GOARCH) $(GO) build -trimpath -ldflags='-s -w -X main.version=$(VERSION)'
# The size budget: the binary against an empty main importing x/sys/unix.
SIZE_MAX := 1.05

.PHONY: all help build tools vendor install dist distcheck size test check initrd demo bench fetch clean

all: build tools

help:
	@echo 'make build      the static /init binary: $(BIN) (GOARCH=arm64 for arm64)'
	@echo 'make tools      mkvirtinitrd and chrootvm into $(OUT)/'
	@echo 'make test       unit tests, no root, no VM'
	@echo 'make check      everything: fetches qemu, kernels and busybox, boots real VMs'
	@echo 'make size       binary size against the x/sys/unix floor (budget $(SIZE_MAX))'
	@echo 'make initrd     an initrd for KMODDIR=/lib/modules/KVER into $(OUT)/initrd.img'
	@echo 'make demo       build everything and boot a busybox VM'
	@echo 'make bench      boot timings under qemu (see tools/cmd/bench/README.md)'
	@echo 'make install    $(DESTDIR)/usr/lib/osbuild/initrd/initrd'
	@echo 'make dist       a tarball with vendored modules; distcheck builds it offline'

build:
	$(BUILD) -o $(BIN) .
	@[ "$(GOARCH)" != "$(HOSTARCH)" ] || ln -sf $(GOARCH)/initrd $(OUT)/initrd

tools:
	cd tools && $(GO) build -trimpath -o ../$(OUT)/ ./cmd/mkvirtinitrd ./cmd/chrootvm

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

test:
	$(GO) test ./...
	cd tools && $(GO) test ./...

# check is the project's test command: it fetches every real part it needs
# (qemu, virtiofsd, busybox, Debian kernels; arm64's too) and boots real
# VMs, x86_64 and arm64 (under TCG).
check:
	gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './out/*' -not -path '*/vendor/*') | tee /dev/stderr | (! read -r _)
	$(GO) vet ./...
	cd tools && $(GO) vet ./...
	$(MAKE) size
	VIRTINIT_CACHE=$(CACHE) tools/fetch-deps
	VIRTINIT_CACHE=$(CACHE) tools/fetch-deps --arch arm64
	$(MAKE) build GOARCH=arm64
	$(GO) test ./...
	cd tools && VIRTINIT_CACHE=$(CACHE) VIRTINIT_INIT=$(CURDIR)/$(BIN) \
		VIRTINIT_INIT_ARM64=$(CURDIR)/$(OUT)/arm64/initrd VIRTINIT_REQUIRE_VM=1 \
		$(GO) test -timeout 30m ./...

KMODDIR ?= /lib/modules/$(shell uname -r)
initrd: build tools
	$(OUT)/mkvirtinitrd $(BIN) $(KMODDIR) $(OUT)/initrd.img

demo: build tools
	tools/demo

bench: build tools
	cd tools && $(GO) run ./cmd/bench $(if $(BASE),-base '$(BASE)') $(BENCHFLAGS)

clean:
	rm -rf $(OUT)
