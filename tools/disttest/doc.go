// Package disttest builds the release tarball the way osbuild does: its
// RPM spec (osbuild.spec's %prep, %build and %install) and its developer
// flow (the initrd target of osbuild's Makefile), offline, with the oldest
// Go virtinit supports and with the installed one. make check runs it; it
// needs no VM, but it builds the tarball and /init four times, so -short
// leaves it out.
//
// What osbuild does, from its public osbuild.spec and Makefile:
//
//	%prep     tar xf %SOURCE1                        (osbuild-initrd-VERSION.tar.gz)
//	%build    (cd osbuild-initrd-VERSION; make build)
//	%install  (cd osbuild-initrd-VERSION; %make_install)
//	          = make install DESTDIR=%{buildroot} INSTALL="install -p"
//	          and %files takes %{_prefix}/lib/osbuild/initrd
//
//	initrd:   mkdir -p initrd
//	          (cd initrd; tar xvf ../osbuild-initrd-*.tar.gz --strip-components=1)
//	          make -C initrd build
//	          and osbuild/qemu.py opens LIBDIR/initrd/initrd
//
// Distribution builds run the distribution's own Go with GOTOOLCHAIN=local
// and no network; the tarball's vendored modules are all there is.
package disttest
