package forecast

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ready starts a computation once in the background and hands its result
// over when it is done; remember waits for the same computation.
func TestReadyComputesOnceInTheBackground(t *testing.T) {
	var mu sync.Mutex
	m := map[string]*once[int]{}
	var runs atomic.Int32
	release := make(chan struct{})
	f := func() int { runs.Add(1); <-release; return 42 }
	if v, ok := ready(&mu, m, "k", f); ok || v != 0 {
		t.Fatalf("first ask: %d %v, want nothing yet", v, ok)
	}
	if _, ok := ready(&mu, m, "k", f); ok {
		t.Fatal("second ask before it finished: ready")
	}
	close(release)
	if v := remember(&mu, m, "k", f); v != 42 {
		t.Fatalf("remember = %d", v)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, ok := ready(&mu, m, "k", f); ok {
			if v != 42 {
				t.Fatalf("ready = %d", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(time.Millisecond)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("computed %d times, want once", n)
	}
}
