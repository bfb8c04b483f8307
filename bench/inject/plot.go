package inject

import (
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// outcomeColors: calm for what the system handled, loud for what it did
// not.
var outcomeColors = map[string]color.RGBA{
	OutcomeNone:    {0x9e, 0xc9, 0xe2, 0xff},
	OutcomeLatent:  {0xd0, 0xd0, 0xd0, 0xff},
	OutcomeCrash:   {0x31, 0x82, 0xbd, 0xff},
	OutcomeHang:    {0x08, 0x51, 0x9c, 0xff},
	OutcomeStall:   {0xfd, 0xae, 0x6b, 0xff},
	OutcomeClient:  {0xfe, 0xe3, 0x91, 0xff},
	OutcomeOutside: {0xd7, 0x30, 0x27, 0xff},
	OutcomeHarness: {0x75, 0x75, 0x75, 0xff},
}

// Plot writes the outcomes per kind of fault as stacked bars (.png or
// .svg, by the file name).
func (s Summary) Plot(file, title string) error {
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	sort.Strings(kinds)
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "faults"
	p.NominalX(kinds...)
	p.Legend.Top = true
	w := vg.Points(float64(min(40, 240/len(kinds))))
	tallest := 0
	for _, k := range kinds {
		n := 0
		for _, v := range s.ByKind[k] {
			n += v
		}
		tallest = max(tallest, n)
	}
	p.Y.Min, p.Y.Max = 0, float64(tallest)*1.4+1 // room for the legend above the bars
	var below *plotter.BarChart
	for _, o := range Outcomes {
		vals := make(plotter.Values, len(kinds))
		nonzero := false
		for i, k := range kinds {
			vals[i] = float64(s.ByKind[k][o])
			nonzero = nonzero || vals[i] > 0
		}
		if !nonzero {
			continue
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = outcomeColors[o]
		b.LineStyle.Width = vg.Points(0.5)
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		p.Legend.Add(fmt.Sprintf("%s (%d)", o, s.Outcomes[o]), b)
	}
	width := vg.Length(max(16, 2+2*len(kinds))) * vg.Centimeter
	const height = 12 * vg.Centimeter
	var c draw.Canvas
	var save func() error
	switch strings.ToLower(filepath.Ext(file)) {
	case ".png":
		img := vgimg.New(width, height)
		c = draw.New(img)
		save = func() error { return writeTo(file, vgimg.PngCanvas{Canvas: img}) }
	case ".svg":
		svg := vgsvg.New(width, height)
		c = draw.New(svg)
		save = func() error { return writeTo(file, svg) }
	default:
		return fmt.Errorf("plot %s: use a .png or .svg file name", file)
	}
	p.Draw(c)
	return save()
}

func writeTo(file string, w io.WriterTo) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
