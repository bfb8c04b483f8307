package port

import (
	"encoding/json"
	"slices"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func sortStrings(s []string) []string { slices.Sort(s); return s }
