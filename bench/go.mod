module virtinit/tools/bench

go 1.25

require virtinit/tools v0.0.0

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
)

replace virtinit/tools => ../tools
