// Command herald-ferretdb runs an embedded FerretDB (MongoDB wire protocol)
// on top of SQLite so tests can use the official MongoDB driver without a
// real mongod. Build and start it via scripts/ferretdb.sh.
//
// Why embedding: `go install` of FerretDB's own cmd panics because its
// generated build/version/*.txt files are not in the module. The
// build/version package only reads those files when the main module is
// FerretDB itself, so embedding the `ferretdb` package avoids the panic
// without any -ldflags tricks.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // serves /debug/pprof/ on -pprof, for profiling the benchmark's MongoDB server
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	data := flag.String("data", filepath.Join(os.TempDir(), "herald-ferretdb"), "SQLite data directory")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	pprofAddr := flag.String("pprof", os.Getenv("HERALD_FERRETDB_PPROF"),
		"if set, serve Go's profiler on this address (default $HERALD_FERRETDB_PPROF)")
	flag.Parse()

	if *pprofAddr != "" {
		go func() {
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				fmt.Fprintln(os.Stderr, "herald-ferretdb: pprof:", err)
			}
		}()
	}

	// FerretDB keeps a live heap of a few MiB but allocates fast (every document is converted twice), so
	// Go's default GOGC=100 collected about 15 times a second under Herald's benchmark, each time stopping
	// the world for milliseconds on a busy machine. Collecting when the heap has grown tenfold, with a
	// 1 GiB soft limit, cut FerretDB's CPU by a fifth there. GOGC and GOMEMLIMIT still override.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(1000)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}

	if err := run(*listen, *data, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "herald-ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, data, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level: %w", err)
	}
	logger := slog.New(lazyAttrs{inner: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})})

	// The SQLite backend requires an existing directory and a "file:" URI
	// ending with "/"; each MongoDB database becomes one .sqlite file there.
	dir, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// Telemetry: ferretdb.New already disables and locks it and uses an
	// in-memory state provider (no state file), so nothing reaches the network.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
		Handler:  "sqlite",
		// synchronous(normal): in WAL mode a commit is then not fsynced, only a checkpoint is. A commit
		// survives this process crashing, not the machine: enough for tests and local development, and
		// per-commit fsyncs made every single-document update cost over a millisecond.
		// temp_store(memory): an insert of many documents into a collection with unique indexes keeps a
		// statement journal, which otherwise spills to a temporary file: a write syscall per page, about
		// a tenth of FerretDB's CPU under Herald's benchmark.
		// wal_autocheckpoint(10000): copy the log into the database every 10,000 pages (about 40 MiB) rather
		// than every 1,000, so a page that many commits rewrite (an index's last leaf) is copied once per
		// checkpoint rather than up to ten times. Durability is unchanged: a commit is in the log either way.
		SQLiteURL: "file:" + strings.TrimSuffix(dir, "/") + "/?_pragma=synchronous(normal)&_pragma=temp_store(memory)&_pragma=wal_autocheckpoint(10000)",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// ferretdb.New has already bound the socket (connections queue in the
	// backlog until Run accepts), so this is a real readiness signal; it also
	// reports the actual port when -listen uses port 0.
	addr := strings.TrimSuffix(strings.TrimPrefix(f.MongoDBURI(), "mongodb://"), "/")
	fmt.Printf("ferretdb listening on %s\n", addr)

	// Run returns once ctx is cancelled (SIGINT/SIGTERM) and the listener,
	// connections and SQLite backend are closed.
	return <-done
}

// lazyAttrs keeps the attributes of Logger.With until a record is actually logged. FerretDB's SQL layer
// calls With(args) twice per statement, and slog's TextHandler formats the arguments (whole documents)
// at once, whatever the level: about a seventh of FerretDB's CPU under Herald's benchmark.
type lazyAttrs struct {
	inner slog.Handler
	attrs []slog.Attr
}

func (h lazyAttrs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h lazyAttrs) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.WithAttrs(h.attrs).Handle(ctx, r)
}

func (h lazyAttrs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return lazyAttrs{inner: h.inner, attrs: append(slices.Clip(h.attrs), attrs...)}
}

// WithGroup qualifies the attributes that come after it only, so the ones kept so far go first.
func (h lazyAttrs) WithGroup(name string) slog.Handler {
	return lazyAttrs{inner: h.inner.WithAttrs(h.attrs).WithGroup(name)}
}
