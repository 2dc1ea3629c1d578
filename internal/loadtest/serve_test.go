package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildServe builds the backchannel command into a temporary directory and
// returns its path.
func buildServe(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "backchannel")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/backchannel/backchannel/cmd/backchannel").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe runs bin serve on database db, on a port of the system's
// choosing, and returns its URL and process ID once it serves. The process
// is stopped as a signal would stop it when the benchmark ends.
func startServe(b *testing.B, bin, db string) (url string, pid int) {
	b.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--key-dir", b.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	serving := regexp.MustCompile(`msg=serving url=(\S+)`)
	found := make(chan string, 1)
	var log []string // the lines before it served, for a failure
	var waitErr error
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
			log = append(log, sc.Text())
		}
		io.Copy(io.Discard, stderr)
		waitErr = cmd.Wait()
	}()
	select {
	case url := <-found:
		return url, cmd.Process.Pid
	case <-exited:
		b.Fatalf("serve exited before it served: %v\n%s", waitErr, strings.Join(log, "\n"))
	case <-time.After(60 * time.Second):
		b.Fatal("serve did not start within 60s")
	}
	return "", 0
}

// processCPU returns the CPU time (user and system) that process pid has
// used, from /proc/PID/stat, or false where the kernel does not give it.
func processCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command's name, in parentheses, may hold spaces: the fields
	// are counted from after it. utime and stime are the stat's 14th and
	// 15th fields, the 12th and 13th after the name, in clock ticks.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * clockTick, true
}

// serverMemory is what a serve process's /metrics says of its memory and
// event streams.
type serverMemory struct {
	heap, rss float64 // MiB
	streams   int
}

var metricLine = regexp.MustCompile(`(?m)^(go_memstats_heap_inuse_bytes|process_resident_memory_bytes|backchannel_event_streams) (\d+)$`)

// serverMemory reads the server's /metrics.
func (w *world) serverMemory(b *testing.B) serverMemory {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", w.base+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	var m serverMemory
	seen := 0
	for _, f := range metricLine.FindAllStringSubmatch(string(body), -1) {
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		switch f[1] {
		case "go_memstats_heap_inuse_bytes":
			m.heap = float64(n) / (1 << 20)
		case "process_resident_memory_bytes":
			m.rss = float64(n) / (1 << 20)
		case "backchannel_event_streams":
			m.streams = int(n)
		}
		seen++
	}
	if seen != 3 {
		b.Fatalf("/metrics has %d of the heap, the resident set and the event streams:\n%s", seen, body)
	}
	return m
}
