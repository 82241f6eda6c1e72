package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a bar on stderr when it is a terminal, and nothing
// otherwise or with --quiet, so scripts and logs stay clean.
type progress struct {
	bar *progressbar.ProgressBar
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newProgress starts a bar counting toward max (-1: unknown, a spinner with a count).
func (c cli) newProgress(quiet bool, description, unit string, max int64) *progress {
	if quiet || !isTerminal(c.stderr) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *progress) set(n int64) {
	if p.bar != nil {
		p.bar.Set64(n)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
