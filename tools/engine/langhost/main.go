// Command pulumi-language-python is maya-infra's own Python language host for the Pulumi CLI.
//
// Why it exists: the upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// has no release tags and the Go module proxy does not serve it, so it cannot be built offline. The two
// Python shims it drives (pulumi-language-python-exec and pulumi-resource-pulumi-python) are plain files
// in the sdk/v3 module, and the toolchain logic (pip/uv/poetry, virtualenvs) is the sdk/v3 package
// python/toolchain, so a small host on top of them gives the CLI the same behaviour for Python projects.
//
// The CLI starts it as `pulumi-language-python [flags] <engine-address>` from the project directory and
// reads the gRPC port it listens on from the first line of stdout.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// execShimName is the Python script that runs a program; it is installed next to this binary.
const execShimName = "pulumi-language-python-exec"

// cliArgs is what the engine (or a person) passed on the command line.
type cliArgs struct {
	engineAddress string // last positional argument
	tracing       string // --tracing <endpoint>, forwarded to the program
	executor      string // -use-executor <path>, overrides the exec shim (tests)
	logToStderr   bool
	logFlow       bool
	verbose       int
}

// parseArgs accepts the flags any CLI version may pass and ignores the ones it does not know, instead of
// failing like the flag package would: older CLIs passed -root/-virtualenv/-toolchain, newer ones pass
// logging and tracing flags. The engine address is always the last positional argument.
func parseArgs(args []string) cliArgs {
	takesValue := map[string]bool{
		"tracing": true, "use-executor": true, "root": true, "virtualenv": true,
		"toolchain": true, "typechecker": true, "v": true, "verbose": true,
	}
	var out cliArgs
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !hasValue && takesValue[name] && i+1 < len(args) {
			i++
			value = args[i]
		}
		switch name {
		case "tracing":
			out.tracing = value
		case "use-executor":
			out.executor = value
		case "logtostderr":
			out.logToStderr = true
		case "logflow":
			out.logFlow = true
		case "v", "verbose":
			out.verbose, _ = strconv.Atoi(value)
		}
	}
	if len(positional) > 0 {
		out.engineAddress = positional[len(positional)-1]
	}
	return out
}

func main() {
	args := parseArgs(os.Args[1:])
	logging.InitLogging(args.logToStderr, args.verbose, args.logFlow)

	execShim := args.executor
	if execShim == "" {
		self, err := os.Executable()
		if err != nil {
			fatalf("could not determine the path of this executable: %v", err)
		}
		execShim = filepath.Join(filepath.Dir(self), execShimName)
	}
	if _, err := os.Stat(execShim); err != nil {
		fatalf("missing executor %s: %v", execShim, err)
	}

	host := newPythonHost(execShim, args.engineAddress, args.tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}

	// The engine reads exactly this line to learn where to connect.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fatalf("language host RPC stopped serving: %v", err)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: "+format+"\n", a...)
	os.Exit(1)
}
