package restart

import (
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot writes the report as a picture: on the left, each phase's end (ms
// after the crash) for every restart in order; on the right, the histogram
// of crash → first frame forwarded. The format follows the file name:
// .png or .svg.
func (r *Report) Plot(file string) error {
	if len(r.Restarts) == 0 {
		return fmt.Errorf("nothing to plot")
	}
	phases := plot.New()
	phases.Title.Text = fmt.Sprintf("%s restarts (%s): phase ends after the crash", r.Driver, r.How)
	phases.X.Label.Text = "restart"
	phases.Y.Label.Text = "ms after the crash"
	var lines []any
	for _, p := range Phases {
		pts := make(plotter.XYs, len(r.Restarts))
		for i, x := range r.Restarts {
			pts[i].X = float64(x.N)
			pts[i].Y = x.PhaseUS[p] / 1e3
		}
		lines = append(lines, strings.ReplaceAll(p, "_", " "), pts)
	}
	if err := plotutil.AddLinePoints(phases, lines...); err != nil {
		return err
	}
	phases.Legend.Top = true

	hist := plot.New()
	hist.Title.Text = "crash → first frame forwarded"
	hist.X.Label.Text = "ms"
	hist.Y.Label.Text = "restarts"
	vals := make(plotter.Values, len(r.Restarts))
	for i, x := range r.Restarts {
		vals[i] = x.PhaseUS["first_frame"] / 1e3
	}
	h, err := plotter.NewHist(vals, 30)
	if err != nil {
		return err
	}
	hist.Add(h)

	const w, ht = 28 * vg.Centimeter, 11 * vg.Centimeter
	var c draw.Canvas
	var save func() error
	switch strings.ToLower(filepath.Ext(file)) {
	case ".png":
		img := vgimg.New(w, ht)
		c = draw.New(img)
		save = func() error { return saveTo(file, vgimg.PngCanvas{Canvas: img}) }
	case ".svg":
		svg := vgsvg.New(w, ht)
		c = draw.New(svg)
		save = func() error { return saveTo(file, svg) }
	default:
		return fmt.Errorf("plot %s: use a .png or .svg file name", file)
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3,
		PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{{phases, hist}}, tiles, c)
	phases.Draw(canvases[0][0])
	hist.Draw(canvases[0][1])
	return save()
}
