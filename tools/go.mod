module virtinit/tools

go 1.24
