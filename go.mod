module virtinit

go 1.24

require golang.org/x/sys v0.50.0 // indirect
