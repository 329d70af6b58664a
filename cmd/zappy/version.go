package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/zappy-mon/zappy/builtin"
	"github.com/zappy-mon/zappy/runtime/engine"
)

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "zappy %s\nABI v%d\nbuilt-in module %s\n%s %s/%s\nwazero %s\n",
				versionString(), engine.ABIVersion, builtin.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
				dependencyVersion("github.com/tetratelabs/wazero"))
			return nil
		},
	}
}
