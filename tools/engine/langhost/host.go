package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/protobuf/types/known/emptypb"
)

// exitCodeUserActionable is what pulumi-language-python-exec exits with after it has already shown the user
// an error; the engine is then told to bail without printing another one.
const exitCodeUserActionable = 32

// pythonHost implements pulumirpc.LanguageRuntimeServer. Methods the CLI does not need to run, preview or
// destroy a Python program (codegen, Pack, Link, Template) stay unimplemented; the engine treats
// Unimplemented as "not supported".
type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	execShim string // path of pulumi-language-python-exec
	tracing  string // forwarded to the program as --tracing

	mu            sync.Mutex
	engineAddress string // from the command line, or from Handshake when the engine attaches
}

func newPythonHost(execShim, engineAddress, tracing string) *pythonHost {
	return &pythonHost{execShim: execShim, engineAddress: engineAddress, tracing: tracing}
}

func (h *pythonHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *pythonHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version stamped into the build with the same -X ldflag as the CLI, falling back
// to the version of the sdk module we were built against.
func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	v := version.Version
	if v == "" {
		v = "v" + sdk.Version.String()
	}
	return &pulumirpc.PluginInfo{Version: v}, nil
}

// resolveToolchain reads the Python runtime options (`runtime.options` in Pulumi.yaml or PulumiPolicy.yaml):
// toolchain (pip, the default, or uv/poetry), virtualenv (relative to the project root) and typechecker.
func resolveToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, string, error) {
	opts := map[string]any{}
	if info.GetOptions() != nil {
		opts = info.GetOptions().AsMap()
	}
	str := func(key string) (string, error) {
		v, ok := opts[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("runtime option %q must be a string, got %T", key, v)
		}
		return s, nil
	}

	pyOpts := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Toolchain:  toolchain.Pip,
	}
	var err error
	if pyOpts.Virtualenv, err = str("virtualenv"); err != nil {
		return nil, "", err
	}
	name, err := str("toolchain")
	if err != nil {
		return nil, "", err
	}
	switch name {
	case "", "pip":
	case "uv":
		pyOpts.Toolchain = toolchain.Uv
	case "poetry":
		pyOpts.Toolchain = toolchain.Poetry
	default:
		return nil, "", fmt.Errorf("unsupported toolchain option %q: use pip, uv or poetry", name)
	}
	checker, err := str("typechecker")
	if err != nil {
		return nil, "", err
	}
	if checker != "" && checker != "mypy" && checker != "pyright" {
		return nil, "", fmt.Errorf("unsupported typechecker option %q: use mypy or pyright", checker)
	}
	tc, err := toolchain.ResolveToolchain(pyOpts)
	return tc, checker, err
}

// Run executes the program through pulumi-language-python-exec, which connects it to the resource monitor.
// The program's stdout and stderr are ours, which the engine already streams to the user.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, checker, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if checker != "" {
		if msg := typecheck(ctx, tc, checker, req.GetInfo().GetProgramDirectory()); msg != "" {
			return &pulumirpc.RunResponse{Error: msg}, nil
		}
	}

	config, err := jsonString(req.GetConfig(), "{}")
	if err != nil {
		return nil, fmt.Errorf("serializing configuration: %w", err)
	}
	secretKeys, err := jsonString(req.GetConfigSecretKeys(), "[]")
	if err != nil {
		return nil, fmt.Errorf("serializing secret configuration keys: %w", err)
	}

	cmd, err := tc.Command(ctx, append([]string{"-u", h.execShim}, h.execArgs(req)...)...)
	if err != nil {
		return nil, err
	}
	cmd.Dir = req.GetPwd()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// The exec shim reads configuration from the environment rather than the command line, so that secrets
	// do not show up in process listings.
	cmd.Env = append(baseEnv(cmd), "PULUMI_CONFIG="+config, "PULUMI_CONFIG_SECRET_KEYS="+secretKeys)

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeUserActionable:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", err)}, nil
	default:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}, nil
	}
}

// execArgs builds the command line that pulumi-language-python-exec's argparse expects.
func (h *pythonHost) execArgs(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine())
	add("project", req.GetProject())
	add("root_directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel()))) // required: the shim does int(args.parallel)
	add("tracing", h.tracing)
	add("organization", req.GetOrganization())
	program := req.GetProgram()
	if program == "" {
		program = "." // runs __main__.py of the program directory
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

// typecheck runs `python -m mypy|pyright .` in the program directory, as the `typechecker` option asks.
func typecheck(ctx context.Context, tc toolchain.Toolchain, checker, dir string) string {
	cmd, err := tc.ModuleCommand(ctx, checker, ".")
	if err != nil {
		return err.Error()
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Sprintf("%s type checking failed: %v", checker, err)
	}
	return ""
}

// listPluginsPy prints the pulumi-plugin.json of every installed distribution that needs a resource plugin.
// Provider SDKs ship that file; name and version default to the distribution's, as upstream does.
const listPluginsPy = `
import importlib.metadata as md, json, sys
found = []
for dist in md.distributions():
    for f in dist.files or ():
        if f.name != "pulumi-plugin.json":
            continue
        try:
            p = json.loads(f.read_text())
        except Exception:
            continue
        if p.get("resource"):
            name = (dist.metadata["Name"] or "").lower().replace("_", "-")
            p.setdefault("name", name[len("pulumi-"):] if name.startswith("pulumi-") else name)
            p.setdefault("version", dist.version)
            found.append(p)
json.dump(found, sys.stdout)
`

// GetRequiredPackages lists the resource plugins that the program's installed provider SDKs need, so the
// engine can check for them up front and knows the default provider versions. Like upstream, it first creates
// the virtualenv if it is missing (so `pulumi up` works on a fresh checkout); pip's output goes to our stderr,
// which the engine shows.
func (h *pythonHost) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	plugins, err := requiredPlugins(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range plugins {
		dep := &pulumirpc.PackageDependency{Kind: "resource", Name: p.Name, Version: p.Version, Server: p.Server}
		if pz := p.Parameterization; pz != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
		}
		if pz := p.ExtensionParameterization; pz != nil {
			dep.Extension = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
		}
		resp.Packages = append(resp.Packages, dep)
	}
	return resp, nil
}

// GetRequiredPlugins is the pre-parameterization form of GetRequiredPackages, kept for older engines.
func (h *pythonHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	plugins, err := requiredPlugins(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range plugins {
		resp.Plugins = append(resp.Plugins,
			&pulumirpc.PluginDependency{Kind: "resource", Name: p.Name, Version: p.Version, Server: p.Server})
	}
	return resp, nil
}

func requiredPlugins(ctx context.Context, info *pulumirpc.ProgramInfo) ([]plugin.PulumiPluginJSON, error) {
	tc, _, err := resolveToolchain(info)
	if err != nil {
		return nil, err
	}
	dir := info.GetProgramDirectory()
	if err := tc.EnsureVenv(ctx, dir, false, true, os.Stderr, os.Stderr); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsPy)
	if err != nil {
		return nil, err
	}
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, fmt.Errorf("listing installed Pulumi packages: %w: %s", err, exitErr.Stderr)
		}
		return nil, fmt.Errorf("listing installed Pulumi packages: %w", err)
	}
	var plugins []plugin.PulumiPluginJSON
	if err := json.Unmarshal(out, &plugins); err != nil {
		return nil, fmt.Errorf("parsing the list of installed Pulumi packages: %w", err)
	}
	return plugins, nil
}

// InstallDependencies creates the virtualenv if needed and installs the project's dependencies into it
// (pip: requirements.txt), streaming the tool output back to the CLI.
func (h *pythonHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	tc, _, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return err
	}
	stdout, stderr := grpcStreams(
		func(b []byte) error { return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b}) },
		func(b []byte) error { return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b}) },
	)
	return tc.InstallDependencies(server.Context(), req.GetInfo().GetProgramDirectory(),
		req.GetUseLanguageVersionTools(), true /*showOutput*/, stdout, stderr)
}

// GetProgramDependencies lists the installed Python packages (for `pulumi about`).
func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, _, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}

func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, _, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata:   map[string]string{"toolchainVersion": info.ToolchainVersion.String()},
	}, nil
}

// RuntimeOptionsPrompts is only used by `pulumi new`; we ask nothing.
func (h *pythonHost) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// Cancel has nothing to do: running programs end with the request contexts the engine cancels.
func (h *pythonHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// baseEnv is the environment a toolchain command would get: its own (a virtualenv is activated by
// prepending its bin directory to PATH) or, if it set none, ours.
func baseEnv(cmd *exec.Cmd) []string {
	if cmd.Env != nil {
		return cmd.Env
	}
	return os.Environ()
}

// jsonString encodes v, using empty for nil maps and slices (which encode as "null").
func jsonString[T any](v T, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if string(b) == "null" {
		return empty, nil
	}
	return string(b), nil
}

// streamWriter turns writes into gRPC stream messages. A gRPC stream must not be sent on concurrently,
// and exec.Cmd copies stdout and stderr in separate goroutines, so both writers of a stream share one lock.
type streamWriter struct {
	mu   *sync.Mutex
	send func([]byte) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.send(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func grpcStreams(sendStdout, sendStderr func([]byte) error) (streamWriter, streamWriter) {
	mu := &sync.Mutex{}
	return streamWriter{mu, sendStdout}, streamWriter{mu, sendStderr}
}
