package devserver_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/devserver"
	"github.com/genius-nas/genius/devserver/devservertest"
)

// defaultDynamicConfig is the dynamic config Args passes when the options
// override none of it.
var defaultDynamicConfig = []string{
	"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "history.visibilityProcessorMaxPollRPS=1000",
	"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
	"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
	"--dynamic-config-value", "system.enableActivityEagerExecution=true",
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		opts devserver.Options
		want []string
	}{
		{
			name: "headless in memory",
			opts: devserver.Options{IP: "127.0.0.1", Port: 7233, LogLevel: "warn"},
			want: append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", "7233", "--log-level", "warn", "--headless"}, defaultDynamicConfig...),
		},
		{
			name: "empty log level is warn",
			opts: devserver.Options{IP: "127.0.0.1", Port: 7233, UI: true},
			want: append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", "7233", "--log-level", "warn"}, defaultDynamicConfig...),
		},
		{
			name: "ui on its own port",
			opts: devserver.Options{IP: "127.0.0.1", Port: 7233, UI: true, UIPort: 9000},
			want: append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", "7233", "--log-level", "warn", "--ui-port", "9000"}, defaultDynamicConfig...),
		},
		{
			name: "ui, db file, sorted search attributes, dynamic config",
			opts: devserver.Options{
				IP: "0.0.0.0", Port: 1, LogLevel: "error", UI: true, DBFile: "/tmp/x.db",
				Namespaces:       []string{"audit"},
				SearchAttributes: map[string]string{"GeniusProposer": "Keyword", "GeniusBenchmark": "Keyword", "GeniusBestAccuracy": "Double"},
				DynamicConfig:    []string{`limit.historyCount.warn=100`, "history.timerProcessorMaxPollRPS=5"},
			},
			want: []string{"server", "start-dev", "--ip", "0.0.0.0", "--port", "1", "--log-level", "error",
				"--db-filename", "/tmp/x.db", "--namespace", "audit",
				"--search-attribute", "GeniusBenchmark=Keyword",
				"--search-attribute", "GeniusBestAccuracy=Double",
				"--search-attribute", "GeniusProposer=Keyword",
				"--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
				"--dynamic-config-value", "history.visibilityProcessorMaxPollRPS=1000",
				"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
				"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
				"--dynamic-config-value", "system.enableActivityEagerExecution=true",
				"--dynamic-config-value", "limit.historyCount.warn=100",
				"--dynamic-config-value", "history.timerProcessorMaxPollRPS=5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := devserver.Args(tt.opts); !slices.Equal(got, tt.want) {
				t.Errorf("Args() =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "temporal")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("env wins", func(t *testing.T) {
		t.Setenv(devserver.BinEnv, exe)
		got, err := devserver.FindBinary()
		if err != nil || got != exe {
			t.Fatalf("FindBinary() = %q, %v; want %q", got, err, exe)
		}
	})
	t.Run("env pointing at a non-executable is an error naming the variable", func(t *testing.T) {
		t.Setenv(devserver.BinEnv, plain)
		_, err := devserver.FindBinary()
		if err == nil || !strings.Contains(err.Error(), devserver.BinEnv) {
			t.Fatalf("FindBinary() error = %v; want one naming %s", err, devserver.BinEnv)
		}
	})
	t.Run("bin/temporal in a parent directory", func(t *testing.T) {
		t.Setenv(devserver.BinEnv, "")
		root := t.TempDir()
		bin := filepath.Join(root, "bin", "temporal")
		deep := filepath.Join(root, "a", "b")
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(deep, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Chdir(deep)
		got, err := devserver.FindBinary()
		if err != nil || got != bin {
			t.Fatalf("FindBinary() = %q, %v; want %q", got, err, bin)
		}
	})
	t.Run("nothing anywhere", func(t *testing.T) {
		t.Setenv(devserver.BinEnv, "")
		t.Setenv("PATH", t.TempDir())
		t.Chdir(t.TempDir())
		if _, err := devserver.FindBinary(); !errors.Is(err, devserver.ErrNotFound) {
			t.Fatalf("FindBinary() error = %v; want ErrNotFound", err)
		}
	})
}

// TestStartStop runs the real dev server twice on one database file: the
// search attributes are registered, state survives a restart, and Stop ends
// the process.
func TestStartStop(t *testing.T) {
	bin := devservertest.Binary(t)
	db := filepath.Join(t.TempDir(), "state", "temporal.db")
	attrs := map[string]string{"GeniusBenchmark": "Keyword", "GeniusBestAccuracy": "Double"}
	for round := range 2 {
		s, err := devserver.Start(context.Background(), devserver.Options{Bin: bin, DBFile: db, SearchAttributes: attrs})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		c, err := client.Dial(client.Options{HostPort: s.Address()})
		if err != nil {
			_ = s.Stop()
			t.Fatalf("round %d: dial %s: %v", round, s.Address(), err)
		}
		resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
			&operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		c.Close()
		if err != nil {
			_ = s.Stop()
			t.Fatalf("round %d: list search attributes: %v", round, err)
		}
		if got := resp.GetCustomAttributes()["GeniusBestAccuracy"]; got != enums.INDEXED_VALUE_TYPE_DOUBLE {
			t.Errorf("round %d: GeniusBestAccuracy has type %v; want Double (all: %v)", round, got, resp.GetCustomAttributes())
		}
		if err := s.Stop(); err != nil {
			t.Fatalf("round %d: stop: %v", round, err)
		}
		select {
		case <-s.Done():
		default:
			t.Fatalf("round %d: Stop returned before the process exited", round)
		}
		if _, err := os.Stat(db); err != nil {
			t.Fatalf("round %d: database file: %v", round, err)
		}
	}
}

// TestStartFailsWhenPortTaken checks that a server that cannot bind fails
// Start promptly with its own output in the error instead of hanging.
func TestStartFailsWhenPortTaken(t *testing.T) {
	bin := devservertest.Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	start := time.Now()
	s, err := devserver.Start(context.Background(), devserver.Options{Bin: bin, Port: port, StartTimeout: 30 * time.Second})
	if err == nil {
		_ = s.Stop()
		t.Fatalf("Start on taken port %d succeeded", port)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Errorf("error does not name the port %d: %v", port, err)
	}
	if time.Since(start) > 25*time.Second {
		t.Errorf("Start took %s to notice the server had exited", time.Since(start))
	}
}

// TestStartRelaunchesAfterEarlyExit: a server that exits before answering
// (as when another process takes the HTTP port the CLI picked) is launched
// again; one that keeps exiting fails after a bounded number of launches.
func TestStartRelaunchesAfterEarlyExit(t *testing.T) {
	bin := devservertest.Binary(t)
	dir := t.TempDir()
	count := filepath.Join(dir, "launches")
	// The first launch exits at once; later ones run the real CLI.
	script := filepath.Join(dir, "temporal")
	body := "#!/bin/sh\necho x >> " + count + "\n[ $(wc -l < " + count + ") -ge 2 ] && exec " + bin + " \"$@\"\necho 'bind: address already in use' >&2\nexit 2\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := devserver.Start(context.Background(), devserver.Options{Bin: script})
	if err != nil {
		t.Fatalf("Start after one early exit: %v", err)
	}
	_ = s.Stop()
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 2 {
		t.Errorf("%d launches, want 2", strings.Count(string(b), "x"))
	}

	always := filepath.Join(dir, "broken")
	if err := os.WriteFile(always, []byte("#!/bin/sh\necho x >> "+count+"\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(count)
	if _, err := devserver.Start(context.Background(), devserver.Options{Bin: always}); err == nil || !strings.Contains(err.Error(), "exited before it answered") {
		t.Errorf("Start of a server that always exits: %v", err)
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 3 {
		t.Errorf("%d launches of a server that always exits, want 3", strings.Count(string(b), "x"))
	}
}
