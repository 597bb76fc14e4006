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
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

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
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		// synchronous(normal): in WAL mode a commit is then not fsynced, only a checkpoint is. A commit
		// survives this process crashing, not the machine: enough for tests and local development, and
		// per-commit fsyncs made every single-document update cost over a millisecond.
		SQLiteURL: "file:" + strings.TrimSuffix(dir, "/") + "/?_pragma=synchronous(normal)",
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
