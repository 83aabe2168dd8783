package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The rules of syscalls.go for memory handed to the kernel, checked on the
// source of the package:
//
//   - package unsafe is used only as uintptr(unsafe.Pointer(X)), and only
//     as an argument of unix.Syscall6 (or Syscall, RawSyscall,
//     RawSyscall6): assembly functions, for which the compiler keeps X's
//     object alive and in place during the call;
//   - X is &V or &V[i] for a package variable V (memory that never moves),
//     or a local P, or &P[i], that is only ever assigned the result of a
//     heap maker (cstr, cArray), and runtime.KeepAlive(P) follows the call
//     in the same function;
//   - each heap maker is go:noinline, so that the allocation it returns
//     escapes to the heap.
//
// Anything else (unsafe.StringData, a uintptr carried through a Go
// function, a pointer to a local array) is reported.

var heapMakers = map[string]bool{"cstr": true, "cBytes": true, "cArray": true}

var syscallFuncs = map[string]bool{"Syscall": true, "Syscall6": true, "RawSyscall": true, "RawSyscall6": true}

func TestPointersToKernel(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatal("no source files")
	}
	problems, calls := checkPointers(fset, files)
	for _, p := range problems {
		t.Error(p)
	}
	// The check must have seen the system calls that take pointers; if
	// it saw none, it is looking at the wrong thing.
	if calls < 5 {
		t.Errorf("checkPointers saw %d pointers handed to the kernel, want the package's (at least 5)", calls)
	}
	// Each heap maker's allocations escape to the heap, as the compiler
	// itself reports (-gcflags=-m).
	out, err := exec.Command("go", "build", "-gcflags=-m", "-o", "/dev/null", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for name := range heapMakers {
		makes := makesIn(fset, files, name)
		if len(makes) == 0 {
			t.Errorf("heap maker %s is not declared or allocates nothing", name)
		}
		for _, pos := range makes {
			if !escapesAt(string(out), pos) {
				t.Errorf("the compiler does not report the allocation of %s at %s escaping to the heap", name, pos)
			}
		}
	}
}

// makesIn returns the positions (file:line:, as the compiler's columns
// differ from go/ast's) of the make calls in the
// function name.
func makesIn(fset *token.FileSet, files []*ast.File, name string) []string {
	var pos []string
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != name {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && isIdent(c.Fun, "make") {
					p := fset.Position(c.Pos())
					pos = append(pos, p.Filename+":"+itoa(int64(p.Line))+":")
				}
				return true
			})
		}
	}
	return pos
}

// escapesAt reports whether the compiler's -m output says the allocation
// at pos escapes to the heap.
func escapesAt(out, pos string) bool {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimPrefix(line, "./")
		if strings.HasPrefix(line, pos) && strings.Contains(line, ": make(") && strings.HasSuffix(line, "escapes to heap") {
			return true
		}
	}
	return false
}

// TestPointerCheckRejects shows that the check catches each way of getting
// the rules wrong.
func TestPointerCheckRejects(t *testing.T) {
	const header = "package main\n\nimport (\n\t\"runtime\"\n\t\"unsafe\"\n\n\t\"golang.org/x/sys/unix\"\n)\n\nvar buf [8]byte\n\n" +
		"//go:noinline\nfunc cstr(s string) *byte { b := make([]byte, len(s)+1); copy(b, s); return &b[0] }\n\n" +
		"//go:noinline\nfunc cArray(l []string) []*byte { return make([]*byte, len(l)+1) }\n\n" +
		"func sys(t, a, b uintptr) { unix.Syscall6(t, a, b, 0, 0, 0, 0) }\n\n"
	for _, tt := range []struct{ name, src, want string }{
		{"ok", `func f(s string) { p := cstr(s); unix.Syscall6(1, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&buf[0])), 0, 0, 0, 0); runtime.KeepAlive(p) }`, ""},
		{"string data", `func f(s string) { unix.Syscall6(1, uintptr(unsafe.Pointer(unsafe.StringData(s))), 0, 0, 0, 0, 0) }`, "unsafe.StringData"},
		{"through a function", `func f(s string) { p := cstr(s); sys(1, uintptr(unsafe.Pointer(p)), 0); runtime.KeepAlive(p) }`, "not in the argument list"},
		{"uintptr variable", `func f(s string) { p := cstr(s); u := uintptr(unsafe.Pointer(p)); unix.Syscall6(1, u, 0, 0, 0, 0, 0); runtime.KeepAlive(p) }`, "not in the argument list"},
		{"local array", `func f() { var b [8]byte; unix.Syscall6(1, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0, 0, 0) }`, "b is assigned not only from cstr"},
		{"expression", `func f(s string) { unix.Syscall6(1, uintptr(unsafe.Pointer(cstr(s))), 0, 0, 0, 0, 0) }`, "neither a package variable"},
		{"not from a heap maker", `func f(s []byte) { p := &s[0]; unix.Syscall6(1, uintptr(unsafe.Pointer(p)), 0, 0, 0, 0, 0); runtime.KeepAlive(p) }`, "not only from cstr or cArray"},
		{"reassigned", `func f(s []byte) { p := cstr("x"); p = &s[0]; unix.Syscall6(1, uintptr(unsafe.Pointer(p)), 0, 0, 0, 0, 0); runtime.KeepAlive(p) }`, "not only from cstr or cArray"},
		{"parameter", `func f(p *byte) { unix.Syscall6(1, uintptr(unsafe.Pointer(p)), 0, 0, 0, 0, 0); runtime.KeepAlive(p) }`, "not only from cstr or cArray"},
		{"no KeepAlive", `func f(s string) { p := cstr(s); unix.Syscall6(1, uintptr(unsafe.Pointer(p)), 0, 0, 0, 0, 0) }`, "runtime.KeepAlive(p)"},
		{"KeepAlive before", `func f(s string) { p := cstr(s); runtime.KeepAlive(p); unix.Syscall6(1, uintptr(unsafe.Pointer(p)), 0, 0, 0, 0, 0) }`, "runtime.KeepAlive(p)"},
		{"pointer type", `var q unsafe.Pointer`, "unsafe.Pointer"},
	} {
		src := header + tt.src + "\n"
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, tt.name+".go", src, parser.ParseComments)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		problems, _ := checkPointers(fset, []*ast.File{f})
		got := strings.Join(problems, "\n")
		switch {
		case tt.want == "" && got != "":
			t.Errorf("checkPointers(%s) = %q, want no problem", tt.name, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("checkPointers(%s) = %q, want a problem naming %q", tt.name, got, tt.want)
		}
	}
	// A heap maker that may be inlined is reported.
	src := header + "func f() {}\n"
	src = strings.Replace(src, "//go:noinline\nfunc cstr", "func cstr", 1)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "inlined.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if problems, _ := checkPointers(fset, []*ast.File{f}); !strings.Contains(strings.Join(problems, "\n"), "cstr is not go:noinline") {
		t.Errorf("checkPointers(cstr without go:noinline) = %q, want it reported", problems)
	}
}

// checkPointers returns the violations of the rules above, and how many
// pointers it saw handed to the kernel.
func checkPointers(fset *token.FileSet, files []*ast.File) (problems []string, calls int) {
	report := func(n ast.Node, msg string) {
		problems = append(problems, fset.Position(n.Pos()).String()+": "+msg)
	}
	pkgVars := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, s := range g.Specs {
					for _, n := range s.(*ast.ValueSpec).Names {
						pkgVars[n.Name] = true
					}
				}
			}
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && heapMakers[fd.Name.Name] {
				if fd.Doc == nil || !strings.Contains(fd.Doc.Text()+directives(fd.Doc), "//go:noinline") {
					report(fd, fd.Name.Name+" is not go:noinline: inlined, its allocation may stay on the caller's stack")
				}
			}
		}
	}
	for _, f := range files {
		var fn *ast.FuncDecl // the function being walked
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				if stack[len(stack)-1] == fn {
					fn = nil
				}
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			if d, ok := n.(*ast.FuncDecl); ok {
				fn = d
			}
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || !isIdent(sel.X, "unsafe") {
				return true
			}
			if sel.Sel.Name != "Pointer" {
				report(sel, "unsafe."+sel.Sel.Name+": the only use of package unsafe is uintptr(unsafe.Pointer(X)) in a system call's arguments")
				return true
			}
			// stack: ..., syscall, uintptr(...), unsafe.Pointer(X), unsafe.Pointer
			conv, _ := parent(stack, 1).(*ast.CallExpr)
			toUintptr, _ := parent(stack, 2).(*ast.CallExpr)
			call, _ := parent(stack, 3).(*ast.CallExpr)
			if conv == nil || conv.Fun != sel || len(conv.Args) != 1 {
				report(sel, "unsafe.Pointer not converted from a pointer")
				return true
			}
			if toUintptr == nil || !isIdent(toUintptr.Fun, "uintptr") || call == nil || !isSyscall(call.Fun) || !isArg(call, toUintptr) {
				report(sel, "uintptr(unsafe.Pointer(...)) not in the argument list of unix.Syscall6: the pointer may move or die before the kernel reads it")
				return true
			}
			calls++
			x := conv.Args[0]
			if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.AND {
				x = u.X
				if ix, ok := x.(*ast.IndexExpr); ok {
					x = ix.X
				}
				if id, ok := x.(*ast.Ident); ok && pkgVars[id.Name] && !isLocal(fn, id.Name) {
					return true
				}
			}
			id, ok := x.(*ast.Ident)
			if !ok || !isLocal(fn, id.Name) || fn == nil {
				report(conv, "pointer handed to the kernel is neither a package variable nor a local from cstr or cArray")
				return true
			}
			if !onlyFromHeapMakers(fn, id.Name) {
				report(conv, id.Name+" is assigned not only from cstr or cArray: it may point to memory that moves")
			}
			if !keptAliveAfter(fn, id.Name, call.End()) {
				report(conv, "no runtime.KeepAlive("+id.Name+") after the system call")
			}
			return true
		})
	}
	return problems, calls
}

// directives returns the comment lines of a doc group, which Text leaves
// out for //go: directives.
func directives(g *ast.CommentGroup) string {
	s := ""
	for _, c := range g.List {
		s += c.Text + "\n"
	}
	return s
}

func parent(stack []ast.Node, up int) ast.Node {
	if len(stack) <= up {
		return nil
	}
	return stack[len(stack)-1-up]
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isSyscall(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, "unix") && syscallFuncs[sel.Sel.Name]
}

func isArg(call *ast.CallExpr, e ast.Expr) bool {
	for _, a := range call.Args {
		if a == e {
			return true
		}
	}
	return false
}

// isLocal reports whether name is declared in fn: a parameter, a result or
// a variable of its body.
func isLocal(fn *ast.FuncDecl, name string) bool {
	if fn == nil {
		return false
	}
	found := false
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			for _, id := range n.Names {
				found = found || id.Name == name
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, l := range n.Lhs {
					found = found || isIdent(l, name)
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				found = found || id.Name == name
			}
		}
		return !found
	})
	return found
}

// onlyFromHeapMakers reports whether every assignment to name in fn is the
// result of a heap maker, and name is not a parameter.
func onlyFromHeapMakers(fn *ast.FuncDecl, name string) bool {
	for _, l := range [...]*ast.FieldList{fn.Recv, fn.Type.Params, fn.Type.Results} {
		if l == nil {
			continue
		}
		for _, f := range l.List {
			for _, id := range f.Names {
				if id.Name == name {
					return false
				}
			}
		}
	}
	ok, assigned := true, false
	fromMaker := func(e ast.Expr) bool {
		c, isCall := e.(*ast.CallExpr)
		if !isCall {
			return false
		}
		id, isID := c.Fun.(*ast.Ident)
		return isID && heapMakers[id.Name]
	}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if !isIdent(l, name) {
					continue
				}
				assigned = true
				if len(n.Rhs) != len(n.Lhs) || !fromMaker(n.Rhs[i]) {
					ok = false
				}
			}
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name != name {
					continue
				}
				assigned = true
				if len(n.Values) != len(n.Names) || !fromMaker(n.Values[i]) {
					ok = false
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && isIdent(n.X, name) {
				ok = false // its address taken: it could be set elsewhere
			}
		}
		return true
	})
	return ok && assigned
}

// keptAliveAfter reports whether fn calls runtime.KeepAlive(name) after pos.
func keptAliveAfter(fn *ast.FuncDecl, name string, pos token.Pos) bool {
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok || c.Pos() < pos || len(c.Args) != 1 || !isIdent(c.Args[0], name) {
			return true
		}
		if sel, ok := c.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "runtime") && sel.Sel.Name == "KeepAlive" {
			found = true
		}
		return true
	})
	return found
}
