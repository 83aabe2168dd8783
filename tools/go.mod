module virtinit/tools

go 1.22

require (
	github.com/cavaliergopher/cpio v1.0.1
	github.com/klauspost/compress v1.18.0
	github.com/ulikunitz/xz v0.5.17
)
