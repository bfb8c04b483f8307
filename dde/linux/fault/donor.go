package fault

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Function is one function of the donor's objects in a linked server.
type Function struct {
	Name   string `json:"name"`
	Source string `json:"source"` // the donor file, e.g. drivers/net/ethernet/intel/e1000/e1000_main.c
	Addr   uint64 `json:"addr"`
	Size   uint64 `json:"size"`
	Code   []byte `json:"-"`
}

// provenance is the part of the server's embedded provenance
// (recipe.LinkRecord, section .grail.provenance) this package reads.
type provenance struct {
	Port  string `json:"port"`
	Donor struct {
		Members []struct {
			Source    string   `json:"source"`
			Functions []string `json:"functions"`
		} `json:"members"`
	} `json:"donor"`
}

// DonorFunctions lists the functions of the donor objects linked into
// the server binary at file, with their addresses and code, sorted by
// address: the donor's own text, where code faults go. The binary names
// them in its provenance (recipe.LinkMember.Functions); a static function
// is taken from the symbol table under the file symbol of its source (two
// files may have statics of one name), a global by its name. Split-off
// cold parts (name.cold) are left out: they run only on rare paths.
func DonorFunctions(file string) (port string, fns []Function, err error) {
	f, err := elf.Open(file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	sec := f.Section(".grail.provenance")
	if sec == nil {
		return "", nil, fmt.Errorf("%s: no .grail.provenance section (not a DDE server, or built before provenance)", file)
	}
	data, err := sec.Data()
	if err != nil {
		return "", nil, err
	}
	var prov provenance
	if err := json.Unmarshal(bytes.TrimRight(data, "\x00"), &prov); err != nil {
		return "", nil, fmt.Errorf("%s: provenance: %w", file, err)
	}
	global := map[string]string{}           // name → source
	local := map[string]map[string]string{} // file symbol → name → source
	listed := false
	for _, m := range prov.Donor.Members {
		base := path.Base(m.Source)
		local[base] = map[string]string{}
		for _, fn := range m.Functions {
			global[fn] = m.Source
			local[base][fn] = m.Source
			listed = true
		}
	}
	if !listed {
		return "", nil, fmt.Errorf("%s: its provenance lists no donor functions (rebuild it: scripts/build-nic.sh)", file)
	}
	syms, err := f.Symbols()
	if err != nil {
		return "", nil, err
	}
	text := f.Section(".text")
	cur := ""
	for _, s := range syms {
		typ, bind := elf.ST_TYPE(s.Info), elf.ST_BIND(s.Info)
		if typ == elf.STT_FILE {
			cur = s.Name
			continue
		}
		if typ != elf.STT_FUNC || s.Size == 0 || strings.Contains(s.Name, ".cold") {
			continue
		}
		var src string
		var ok bool
		if bind == elf.STB_LOCAL {
			src, ok = local[cur][s.Name]
		} else {
			src, ok = global[s.Name]
		}
		if !ok {
			continue
		}
		fn := Function{Name: s.Name, Source: src, Addr: s.Value, Size: s.Size}
		if text != nil && s.Value >= text.Addr && s.Value+s.Size <= text.Addr+text.Size {
			fn.Code = make([]byte, s.Size)
			if _, err := text.ReadAt(fn.Code, int64(s.Value-text.Addr)); err != nil {
				return "", nil, err
			}
		}
		fns = append(fns, fn)
	}
	if len(fns) == 0 {
		return "", nil, errors.New(file + ": none of the donor's functions is in the symbol table (stripped?)")
	}
	slices.SortFunc(fns, func(a, b Function) int { return cmp.Compare(a.Addr, b.Addr) })
	return prov.Port, fns, nil
}

// Symbolize names the donor function holding addr ("e1000_clean+0x4f"),
// or "" if none does.
func Symbolize(fns []Function, addr uint64) string {
	i, _ := slices.BinarySearchFunc(fns, addr, func(f Function, a uint64) int {
		switch {
		case f.Addr+f.Size <= a:
			return -1
		case f.Addr > a:
			return 1
		}
		return 0
	})
	if i < len(fns) && fns[i].Addr <= addr && addr < fns[i].Addr+fns[i].Size {
		return fmt.Sprintf("%s+%#x", fns[i].Name, addr-fns[i].Addr)
	}
	return ""
}
