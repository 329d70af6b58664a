package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/engine"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/runner"
	"github.com/zappy-mon/zappy/runtime/site"
	"github.com/zappy-mon/zappy/runtime/state"
)

// pendingRunner is the engine and runner every command shares, being made
// in the background: loading the built-in module (decoding and validating
// 3 MB of WebAssembly, even with a warm compilation cache) overlaps with
// reading the configuration and opening the state.
type pendingRunner struct {
	done   chan struct{}
	r      *runner.Runner
	engine *engine.Engine
	err    error
}

// startRunner begins making the runner.
func startRunner(cmd *cobra.Command, g *globalFlags) *pendingRunner {
	p := &pendingRunner{done: make(chan struct{})}
	ctx, log := cmd.Context(), g.logger(cmd.ErrOrStderr())
	go func() {
		defer close(p.done)
		e, err := engine.New(engine.Options{CacheDir: g.cacheDir, Logger: log})
		if err != nil {
			p.err = err
			return
		}
		r, err := runner.New(ctx, e, log)
		if err != nil {
			e.Close(context.Background())
			p.err = err
			return
		}
		p.r, p.engine = r, e
	}()
	return p
}

// wait returns the runner once it is ready.
func (p *pendingRunner) wait() (*runner.Runner, error) {
	<-p.done
	return p.r, p.err
}

// close releases the engine (waiting for it to be made first).
func (p *pendingRunner) close() {
	<-p.done
	if p.engine != nil {
		p.engine.Close(context.Background())
	}
}

type daemonFlags struct {
	state    string
	threads  int
	retryMax time.Duration
}

func (f *daemonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.state, "state", "s", "", "state database (only with one config file; default "+state.DefaultPath("CONFIG.yaml")+")")
	cmd.Flags().IntVarP(&f.threads, "threads", "t", 0, "checks run at once per site (overrides max_threads)")
	cmd.Flags().DurationVar(&f.retryMax, "notify-retry-max", 5*time.Minute, "longest wait between delivery attempts of a notification")
}

// check refuses flag values that cannot apply, rather than falling back to
// max_threads or the default backoff cap.
func (f *daemonFlags) check(cmd *cobra.Command) error {
	if cmd.Flags().Changed("threads") && f.threads < 1 {
		return fmt.Errorf("--threads %d: must be at least 1", f.threads)
	}
	if f.retryMax <= 0 {
		return fmt.Errorf("--notify-retry-max %s: must be a positive duration", f.retryMax)
	}
	return nil
}

func runCommand(g *globalFlags) *cobra.Command {
	f := &daemonFlags{}
	cmd := &cobra.Command{
		Use:   "run CONFIG...",
		Short: "Run as a daemon: check every monitor on its schedule, notify, send heartbeats",
		Long: `Run the monitors of one or more config files until stopped. Each file is an
independent site with its own state database. SIGHUP (or saving a config
file) reloads the configuration without losing state; SIGUSR1 logs the state
table; SIGTERM or SIGINT stops gracefully.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			pr := startRunner(cmd, g)
			defer pr.close()
			r, err := pr.wait()
			if err != nil {
				return err
			}
			log := g.logger(cmd.ErrOrStderr())
			d, err := site.NewDaemon(cmd.Context(), args, site.DaemonOptions{Runner: r, StatePath: f.state, Threads: f.threads, Log: log, RetryMax: f.retryMax})
			if err != nil {
				return err
			}
			signals := make(chan os.Signal, 4)
			if reloadSignal != nil {
				signal.Notify(signals, reloadSignal, statusSignal)
			}
			defer signal.Stop(signals)
			go func() {
				for sig := range signals {
					switch sig {
					case reloadSignal:
						log.Info("SIGHUP: reloading")
						d.Reload()
					case statusSignal:
						// Asked for explicitly: written whatever the log level.
						fmt.Fprint(cmd.ErrOrStderr(), d.Status())
					}
				}
			}()
			return d.Run(cmd.Context())
		},
	}
	f.register(cmd)
	return cmd
}

func onceCommand(g *globalFlags) *cobra.Command {
	f := &daemonFlags{}
	cmd := &cobra.Command{
		Use:   "once CONFIG...",
		Short: "Cron mode: check what is due, notify, save state, exit",
		Long: `APMonitor's mode of operation: check the monitors whose interval has elapsed
(or whose configuration changed), send the notifications and heartbeats that
are due, deliver queued notifications once, save the state and exit. Run it
from cron or a loop.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd); err != nil {
				return err
			}
			oneShotGC()
			pr := startRunner(cmd, g)
			defer pr.close()
			cfgs, err := config.LoadAll(args)
			if err != nil {
				return err
			}
			if err := site.CheckStatePaths(cfgs, f.state); err != nil {
				return err
			}
			r, err := pr.wait()
			if err != nil {
				return err
			}
			log := g.logger(cmd.ErrOrStderr())
			var errs []error
			for _, cfg := range cfgs {
				s, err := site.Open(cmd.Context(), cfg, site.Options{Runner: r, StatePath: f.state, Threads: f.threads, Log: log, RetryMax: f.retryMax})
				if err != nil {
					errs = append(errs, err)
					continue
				}
				res, err := s.Once(cmd.Context())
				errs = append(errs, err, s.Close())
				log.Info("once", "site", cfg.Site.Name, "checked", res.Checked, "reminders", res.Reminded)
			}
			return errors.Join(errs...)
		},
	}
	f.register(cmd)
	return cmd
}

func validateCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "validate CONFIG...",
		Short: "Check config files and print a summary of their sites and monitors",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := startRunner(cmd, g)
			defer pr.close()
			cfgs, err := config.LoadAll(args)
			if err != nil {
				return err
			}
			r, err := pr.wait()
			if err != nil {
				return err
			}
			var problems config.Errors
			for _, cfg := range cfgs {
				_, ps, err := prepare(cmd.Context(), r, cfg.Monitors)
				if err != nil {
					return err
				}
				problems = append(problems, ps...)
				if _, err := site.Channels(cfg); err != nil {
					var ce config.Errors
					if !errors.As(err, &ce) {
						return err
					}
					problems = append(problems, ce...)
				}
			}
			if len(problems) > 0 {
				return problems
			}
			for _, cfg := range cfgs {
				fmt.Fprintln(cmd.OutOrStdout(), cfg.Summary())
			}
			return nil
		},
	}
}

func stateCommand() *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:   "state CONFIG...",
		Short: "Print the state table of each site (also while the daemon runs)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs, err := config.LoadAll(args)
			if err != nil {
				return err
			}
			// One database is one site's state: the rules of run and once,
			// or it would be printed as the state of every site.
			if err := site.CheckStatePaths(cfgs, statePath); err != nil {
				return err
			}
			for _, cfg := range cfgs {
				path := statePath
				if path == "" {
					path = state.DefaultPath(cfg.File)
				}
				if _, err := os.Stat(path); err != nil {
					return fmt.Errorf("site %s: no state at %s yet (run zappy run or zappy once first)", cfg.Site.Name, path)
				}
				st, err := state.Open(path)
				if err != nil {
					return err
				}
				rows, err := site.StatusFromStore(cmd.Context(), cfg, st)
				st.Close()
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), site.FormatStatus(cfg.Site.Name, rows, cfg.Site.Timezone))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&statePath, "state", "s", "", "state database (default: derived from the config file)")
	return cmd
}

func notifyCommand() *cobra.Command {
	parent := &cobra.Command{Use: "notify", Short: "Notification tools"}
	var dryRun bool
	test := &cobra.Command{
		Use:   "test CONFIG...",
		Short: "Send a test notification to every configured channel",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfgs, err := config.LoadAll(args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			failed := 0
			for _, cfg := range cfgs {
				channels, err := site.Channels(cfg)
				if err != nil {
					return err
				}
				ev := notify.Event{ID: "test", Kind: notify.KindTest, Site: cfg.Site.Name, At: nowFunc(), Location: cfg.Site.Timezone}
				if len(channels) == 0 {
					fmt.Fprintf(out, "site %s: no notification channels configured\n", cfg.Site.Name)
					continue
				}
				sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
				for _, c := range channels {
					if dryRun {
						fmt.Fprintf(out, "site %s: would send to %s (%s): %q\n", cfg.Site.Name, c.Name, describe(cfg, c), notify.Text(ev))
						continue
					}
					ctx, cancel := context.WithTimeout(cmd.Context(), 30e9)
					err := c.Provider.Send(ctx, ev)
					cancel()
					if err != nil {
						failed++
						fmt.Fprintf(out, "site %s: %s: FAILED: %v\n", cfg.Site.Name, c.Name, err)
						continue
					}
					fmt.Fprintf(out, "site %s: %s: sent\n", cfg.Site.Name, c.Name)
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d channel(s) failed", failed)
			}
			return nil
		},
	}
	test.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be sent, send nothing")
	parent.AddCommand(test)
	return parent
}

// describe says where a channel delivers, without secrets.
func describe(cfg *config.Config, c site.Channel) string {
	if c.Email {
		return fmt.Sprintf("email via %s:%d to %s", cfg.Site.Email.Host, cfg.Site.Email.Port, strings.TrimPrefix(c.Name, site.EmailChannelPrefix))
	}
	for _, n := range cfg.Site.Notifiers {
		if n.Name == c.Name {
			return n.Type
		}
	}
	return "channel"
}

func initCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented starter config (default zappy.yaml)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "zappy.yaml"
			if len(args) == 1 {
				path = args[0]
			}
			flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flag, 0o644)
			if err != nil {
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s exists (use --force to overwrite)", path)
				}
				return err
			}
			if _, err := f.Write(config.Starter()); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			abs, _ := filepath.Abs(path)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s; edit it, then: zappy validate %s && zappy run %s\n", abs, path, path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
