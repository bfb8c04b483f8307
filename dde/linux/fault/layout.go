package fault

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
)

// Target is a structure data faults go in, as the server's debug info
// (DWARF of the donor objects and the DDE runtime) lays it out.
type Target struct {
	Struct string  // StructNetdev, StructPriv
	Via    *uint32 // set for a structure reached through the pointer at this offset of Struct
	Type   string  // its C type: net_device, e1000_adapter, e1000_tx_ring
	Size   uint32
	// Members are the structure's top-level members, each as the words
	// it consists of (nested structures and arrays taken apart): the
	// planner draws a member, then one of its words, so a large array
	// or a block of statistics weighs as much as one pointer.
	Members [][]Word
}

// Word is one scalar of a structure.
type Word struct {
	Name    string // e1000_adapter.hw.hw_addr, e1000_adapter.tx_ring->next_to_use
	Off     uint32
	Width   uint8
	Pointer bool
}

// DataTargets reads the layouts data faults need from the server binary
// at file, built for port: the net_device, the port's private area
// (PrivTypes), and each structure a pointer member of the private area
// leads to that the donor itself declares (a file under drivers/: e1000's
// tx_ring and rx_ring).
func DataTargets(file, port string) ([]Target, error) {
	privType, ok := PrivTypes[port]
	if !ok {
		return nil, fmt.Errorf("data faults: no private-area type known for port %q (fault.PrivTypes)", port)
	}
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("data faults need the server's debug info (DWARF): %s: %w", file, err)
	}
	types, decl, err := structs(d)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, t := range []struct{ s, typ string }{{StructNetdev, "net_device"}, {StructPriv, privType}} {
		st, ok := types[t.typ]
		if !ok {
			return nil, fmt.Errorf("data faults: struct %s is not in the debug info of %s", t.typ, file)
		}
		out = append(out, target(t.s, nil, st, t.typ))
	}
	for _, m := range types[privType].Field {
		pt, ok := strip(m.Type).(*dwarf.PtrType)
		if !ok || m.BitSize != 0 {
			continue
		}
		st, ok := strip(pt.Type).(*dwarf.StructType)
		if !ok || st.Kind != "struct" || st.Incomplete || st.ByteSize <= 0 || !strings.Contains("/"+decl[st.StructName], "/drivers/") {
			continue
		}
		via := uint32(m.ByteOffset)
		if full, ok := types[st.StructName]; ok {
			st = full
		}
		out = append(out, target(StructPriv, &via, st, privType+"."+m.Name+"->"))
	}
	return out, nil
}

// structs indexes the complete C structure types by name, with the file
// that declares each.
func structs(d *dwarf.Data) (map[string]*dwarf.StructType, map[string]string, error) {
	types := map[string]*dwarf.StructType{}
	decl := map[string]string{}
	r := d.Reader()
	var files []*dwarf.LineFile
	for {
		e, err := r.Next()
		if err != nil {
			return nil, nil, err
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			if lang, _ := e.Val(dwarf.AttrLanguage).(int64); lang == dwLangGo {
				r.SkipChildren() // Go's own units: nothing of ours
				continue
			}
			files = nil
			if lr, err := d.LineReader(e); err == nil && lr != nil {
				files = lr.Files()
			}
		case dwarf.TagStructType:
			name, _ := e.Val(dwarf.AttrName).(string)
			if name == "" || e.Val(dwarf.AttrDeclaration) != nil {
				continue
			}
			if _, seen := types[name]; seen {
				continue
			}
			t, err := d.Type(e.Offset)
			if err != nil {
				continue
			}
			if st, ok := t.(*dwarf.StructType); ok && !st.Incomplete {
				types[name] = st
				if i, ok := e.Val(dwarf.AttrDeclFile).(int64); ok && i >= 0 && int(i) < len(files) && files[i] != nil {
					decl[name] = files[i].Name
				}
			}
		}
	}
	if len(types) == 0 {
		return nil, nil, errors.New("data faults: no C structure in the debug info")
	}
	return types, decl, nil
}

func target(s string, via *uint32, st *dwarf.StructType, prefix string) Target {
	t := Target{Struct: s, Via: via, Type: st.StructName, Size: uint32(st.ByteSize)}
	for _, m := range st.Field {
		if m.BitSize != 0 || m.ByteOffset < 0 {
			continue
		}
		sep := "."
		if strings.HasSuffix(prefix, "->") {
			sep = ""
		}
		var ws []Word
		words(m.Type, prefix+sep+m.Name, uint32(m.ByteOffset), &ws)
		if len(ws) > 0 {
			t.Members = append(t.Members, ws)
		}
	}
	return t
}

const dwLangGo = 0x16 // DW_LANG_Go

// maxWords bounds the words one member is taken apart into.
const maxWords = 4096

// words appends the scalars of a value of type typ at off.
func words(typ dwarf.Type, name string, off uint32, out *[]Word) {
	if len(*out) >= maxWords {
		return
	}
	switch t := strip(typ).(type) {
	case *dwarf.PtrType:
		add(out, Word{Name: name, Off: off, Width: 8, Pointer: true})
	case *dwarf.IntType, *dwarf.UintType, *dwarf.BoolType, *dwarf.CharType, *dwarf.UcharType, *dwarf.EnumType:
		if n := t.Size(); n == 1 || n == 2 || n == 4 || n == 8 {
			add(out, Word{Name: name, Off: off, Width: uint8(n)})
		}
	case *dwarf.StructType:
		for i, m := range t.Field {
			if m.BitSize != 0 || m.ByteOffset < 0 || t.Kind == "union" && i > 0 {
				continue // bit fields; a union as its first member
			}
			n := name
			if m.Name != "" {
				n += "." + m.Name
			}
			words(m.Type, n, off+uint32(m.ByteOffset), out)
		}
	case *dwarf.ArrayType:
		es := t.Type.Size()
		for i := int64(0); i < t.Count && es > 0; i++ {
			words(t.Type, fmt.Sprintf("%s[%d]", name, i), off+uint32(i*es), out)
		}
	}
}

func add(out *[]Word, w Word) {
	if w.Off%uint32(w.Width) == 0 { // packed members are left out
		*out = append(*out, w)
	}
}

func strip(t dwarf.Type) dwarf.Type {
	for {
		switch x := t.(type) {
		case *dwarf.TypedefType:
			t = x.Type
		case *dwarf.QualType:
			t = x.Type
		default:
			return t
		}
	}
}
