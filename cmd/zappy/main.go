// Command zappy is the zappy CLI: flag parsing and wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zappy-mon/zappy/runtime/engine"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// the module version from the build info is used.
var version = ""

// exitError carries a process exit code (and the error to print, if any)
// through cobra.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// nowFunc is the wall clock (a variable for tests).
var nowFunc = time.Now

type globalFlags struct {
	verbose    int
	logFormat  string
	cacheDir   string
	cpuProfile string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globalFlags{}
	root := newRoot(g)
	defer pprof.StopCPUProfile()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(stderr, "zappy:", ee.err)
		}
		return ee.code
	default:
		fmt.Fprintln(stderr, "zappy:", err)
		if commandName(root, args) == "check" {
			return 3 // a check that could not run is UNKNOWN to Nagios
		}
		return 1
	}
}

// commandName is the command args name: the first argument that is not a
// flag or the value of one of the root's flags and names a command. cobra
// cannot tell it when an unknown flag stands before it ("zappy --bogus
// check" blames the root, "zappy --bogus validate check" runs check), since
// it takes the argument after an unknown flag for the flag's value.
func commandName(root *cobra.Command, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if len(a) > 1 && a[0] == '-' {
			var f *pflag.Flag
			if name, ok := strings.CutPrefix(a, "--"); ok {
				if !strings.Contains(name, "=") {
					f = root.PersistentFlags().Lookup(name)
				}
			} else if len(a) == 2 {
				f = root.PersistentFlags().ShorthandLookup(a[1:])
			}
			if f != nil && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
			continue
		}
		for _, c := range root.Commands() {
			if c.Name() == a || c.HasAlias(a) {
				return c.Name()
			}
		}
	}
	return ""
}

// newRoot builds the command tree.
func newRoot(g *globalFlags) *cobra.Command {
	root := &cobra.Command{
		Use:           "zappy",
		Short:         "WebAssembly-scriptable availability and service checks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().CountVarP(&g.verbose, "verbose", "v", "more logging (-v info, -vv debug)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", "", "compilation cache directory (default "+engine.DefaultCacheDir()+"; \"-\" disables it)")
	root.PersistentFlags().StringVar(&g.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the command to this file (for performance work)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.logFormat != "text" && g.logFormat != "json" {
			return fmt.Errorf("--log-format %q: want text or json", g.logFormat)
		}
		if g.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return err
		}
		return pprof.StartCPUProfile(f)
	}
	root.AddCommand(checkCommand(g), runCommand(g), onceCommand(g), validateCommand(g), stateCommand(),
		notifyCommand(), initCommand(), schemaCommand(), versionCommand())
	return root
}

func (g *globalFlags) logger(stderr io.Writer) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case g.verbose >= 2:
		level = slog.LevelDebug
	case g.verbose == 1:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}

func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	return v
}

func dependencyVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// oneShotGC makes the garbage collector run less often in the commands that
// exit after one pass (check, once). Most of what they allocate is the
// short-lived garbage of decoding and validating the built-in module at
// start; collecting it at the default GOGC=100 costs 10–15 ms of CPU of a
// warm `zappy check` (~85 ms), while their peak RSS stays the same (it is
// mostly the module's code and memory). A GOGC set by the user wins.
func oneShotGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
