package notebook

import (
	stdctx "context"
	"fmt"
	"html"
	"os"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/comms"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/protocol"
	"github.com/janpfeifer/gonb/gonbui/widgets"
)

// HeadlessEnv is the environment variable that says no browser is attached
// to the kernel: scripts/notebooks.sh sets OPTLAB_HEADLESS=1 when it executes
// notebooks, so Show neither waits for one nor leaves GoNB's connection
// script in the saved outputs.
const HeadlessEnv = "OPTLAB_HEADLESS"

// headlessNote is shown above the figure when the controls cannot be.
const headlessNote = "The figure below is the explorer's starting point. Run this cell in Jupyter with the GoNB kernel to get sliders for the learning rate and momentum and a choice of function."

// Show draws the explorer in a GoNB cell and redraws it whenever a control
// moves. The figure and its paragraph are ordinary outputs, so the notebook
// saves the last one drawn: a notebook executed without a browser (nbconvert,
// CI) keeps the figure of the starting state, and its readers see that
// figure. The controls (a select for the function, sliders for the learning
// rate and the momentum, a Done button) need a browser connected to the
// kernel; with OPTLAB_HEADLESS=1, or when no browser answers within
// ConnectTimeout, Show leaves a note saying how to get them and returns.
// Otherwise it returns when Done is pressed, after Idle without a change, or
// when ctx ends; the cell runs until then. Outside GoNB it prints the
// starting state's paragraph.
func (e *Explorer) Show(ctx stdctx.Context) error {
	state := e.Initial()
	view, err := e.Render(state)
	if err != nil {
		return err
	}
	if !gonbui.IsNotebook {
		showMarkdown(os.Stdout, view.Text)
		return nil
	}
	if os.Getenv(HeadlessEnv) == "1" {
		gonbui.DisplayHtml("<p><em>" + html.EscapeString(headlessNote) + "</em></p>")
		return showView(explorerIDs{figure: "optlab_explorer_figure_" + gonbui.UniqueId(), text: "optlab_explorer_text_" + gonbui.UniqueId()}, view)
	}
	uid := gonbui.UniqueId()
	ids := explorerIDs{
		controls: "optlab_explorer_controls_" + uid,
		figure:   "optlab_explorer_figure_" + uid,
		text:     "optlab_explorer_text_" + uid,
		root:     "optlab-explorer-" + uid,
	}
	gonbui.UpdateHtml(ids.controls, controlsHTML(ids.root))
	if err := showView(ids, view); err != nil {
		return err
	}
	ctl, ok := e.buildControls(ids.root, state)
	if !ok {
		gonbui.UpdateHtml(ids.controls, "<p><em>"+html.EscapeString(headlessNote)+"</em></p>")
		gonbui.Sync()
		return nil
	}
	defer ctl.close()
	idle := time.NewTimer(e.cfg.Idle)
	defer idle.Stop()
	for {
		changed := false
		select {
		case <-ctx.Done():
			return e.finish(ids, "stopped")
		case <-idle.C:
			return e.finish(ids, "closed after a while without a change")
		case <-ctl.done.C:
			return e.finish(ids, "closed")
		case v := <-ctl.function.C:
			if v != state.Function {
				// Each function has its own good range: start from its defaults.
				changed, state = true, e.Start(v)
				ctl.lrSlider.SetValue(state.LR)
				ctl.momentumSlider.SetValue(state.Momentum)
			}
		case v := <-ctl.lr.C:
			changed, state.LR = v != state.LR, v
		case v := <-ctl.momentum.C:
			changed, state.Momentum = v != state.Momentum, v
		}
		if !changed {
			continue
		}
		ctl.showValues(e, state)
		idle.Reset(e.cfg.Idle)
		view, err := e.Render(state)
		if err != nil {
			// Bad positions cannot happen (they are clamped); a backend
			// failure is shown in place of the paragraph and the explorer
			// goes on, so the reader can move back.
			gonbui.UpdateMarkdown(ids.text, "**explorer:** "+err.Error())
			continue
		}
		if err := showView(ids, view); err != nil {
			return err
		}
	}
}

// explorerIDs are the display ids of the explorer's outputs and the DOM id of
// the controls' container.
type explorerIDs struct{ controls, figure, text, root string }

// showView replaces the figure and the paragraph.
func showView(ids explorerIDs, v *View) error {
	png, err := v.Figure.PNG()
	if err != nil {
		return fmt.Errorf("explorer: %w", err)
	}
	gonbui.SendData(&protocol.DisplayData{
		Data: map[protocol.MIMEType]any{
			protocol.MIMEImagePNG:  png,
			protocol.MIMETextPlain: "explorer figure: " + v.Spec,
		},
		DisplayID: ids.figure,
	})
	gonbui.UpdateMarkdown(ids.text, v.Text)
	gonbui.Sync()
	return nil
}

// finish replaces the controls with a line saying the explorer ended; the
// last figure stays.
func (e *Explorer) finish(ids explorerIDs, why string) error {
	gonbui.UpdateHtml(ids.controls, "<p><em>"+html.EscapeString("Explorer "+why+": the figure below is the last one drawn. Run the cell again to explore.")+"</em></p>")
	gonbui.Sync()
	return nil
}

// controlsHTML lays out the controls: a labelled cell per widget, with the
// sliders' values shown next to their names.
func controlsHTML(root string) string {
	cell := func(id, label, value, style string) string {
		v := ""
		if value != "" {
			v = fmt.Sprintf(` <span id="%s-%s" style="font-family:monospace">%s</span>`, root, value, "")
		}
		return fmt.Sprintf(`<div id="%s-%s" style="%s"><div style="font-weight:bold;margin-bottom:0.3em">%s%s</div></div>`,
			root, id, style, html.EscapeString(label), v)
	}
	return fmt.Sprintf(`<div id="%s" class="optlab-explorer" style="display:flex;gap:2em;align-items:flex-end;flex-wrap:wrap;margin:0.5em 0">%s%s%s%s</div>`,
		root,
		cell("function", "function", "", ""),
		cell("lr", "learning rate", "lr-value", "flex:1;min-width:14em"),
		cell("momentum", "momentum", "momentum-value", "flex:1;min-width:14em"),
		cell("done", "", "", ""))
}

// explorerControls are the widgets and their update channels.
type explorerControls struct {
	root                         string
	lrSlider, momentumSlider     *widgets.SliderBuilder
	function, lr, momentum, done *comms.AddressChan[int]
}

func (c *explorerControls) close() {
	for _, ch := range []*comms.AddressChan[int]{c.function, c.lr, c.momentum, c.done} {
		ch.Close()
	}
}

// showValues writes the sliders' values next to their names.
func (c *explorerControls) showValues(e *Explorer, s ExplorerState) {
	lr, m := e.Values(s)
	dom.SetInnerText(c.root+"-lr-value", fmt.Sprintf("%g", lr))
	dom.SetInnerText(c.root+"-momentum-value", fmt.Sprintf("%g", m))
}

// buildControls creates the widgets inside the element root. The widgets
// wait for the browser's first message; without a browser that never comes,
// so the building runs in a goroutine that is abandoned after ConnectTimeout
// (it ends with the program).
func (e *Explorer) buildControls(root string, s ExplorerState) (*explorerControls, bool) {
	deadline := time.Now().Add(e.cfg.ConnectTimeout)
	if !connect(deadline) {
		return nil, false
	}
	built := make(chan *explorerControls, 1)
	go func() {
		fn := widgets.Select(e.Names()).SetDefault(s.Function).AppendTo(root + "-function").Done()
		lr := widgets.Slider(0, e.LRPositions()-1, s.LR).AppendTo(root + "-lr").Done()
		mom := widgets.Slider(0, momentumPositions-1, s.Momentum).AppendTo(root + "-momentum").Done()
		done := widgets.Button("Done").AppendTo(root + "-done").Done()
		c := &explorerControls{
			root: root, lrSlider: lr, momentumSlider: mom,
			function: fn.Listen().LatestOnly(), lr: lr.Listen().LatestOnly(),
			momentum: mom.Listen().LatestOnly(), done: done.Listen().LatestOnly(),
		}
		c.showValues(e, s)
		built <- c
	}()
	select {
	case c := <-built:
		return c, true
	case <-time.After(time.Until(deadline) + 5*time.Second):
		return nil, false
	}
}

// connect makes sure GoNB's connection to the browser works before widgets
// rely on it, and reports whether it does by deadline. GoNB installs the
// connection on demand, and its browser side gives the kernel 500 ms to
// acknowledge: on a loaded machine that can fail, after which every widget
// waits for ever. So connect proves the connection with a round trip (the
// browser sends a value to an address this program listens to) and, while
// none comes back, waits past GoNB's heartbeat threshold (1 s) and asks
// again, which makes the kernel probe the connection and reinstall it.
func connect(deadline time.Time) bool {
	addr := "/optlab/explorer/ping/" + gonbui.UniqueId()
	ch := comms.Listen[int](addr).LatestOnly()
	defer ch.Close()
	ping := fmt.Sprintf(`(() => { const c = globalThis.gonb_comm; if (c && c.send) { c.send(%q, 1); } })();`, addr)
	for time.Now().Before(deadline) {
		dom.TransientJavascript(ping)
		select {
		case <-ch.C:
			return true
		case <-time.After(2 * time.Second):
		}
		time.Sleep(1200 * time.Millisecond)
		comms.Start()
	}
	return false
}
