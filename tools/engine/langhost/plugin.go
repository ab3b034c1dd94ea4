package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// RunPlugin runs a plugin written in Python: since CLI v3.221 this is how policy packs (kind "analyzer",
// a directory with PulumiPolicy.yaml) are started, replacing the old pulumi-analyzer-policy-python shim.
// Other kinds (a PulumiPlugin.yaml provider) run the directory's __main__.py.
//
// The engine treats the stream like a plugin process: the first stdout line is the gRPC port to dial, the
// rest of stdout/stderr is shown to the user, and the final message carries the exit code.
func (h *pythonHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	ctx := server.Context()
	tc, _, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return err
	}
	// The plugin gets the environment the engine prepared for it, not ours, with its virtualenv activated.
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	venv, err := tc.VirtualEnvPath(ctx)
	if err != nil {
		return err
	}
	if venv != "" {
		env = toolchain.ActivateVirtualEnv(env, venv)
	}
	stdout, stderr := grpcStreams(
		func(b []byte) error {
			return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
		},
		func(b []byte) error {
			return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
		},
	)

	dir := req.GetInfo().GetProgramDirectory()
	var code int
	if req.GetKind() == "analyzer" {
		code, err = runPolicyPack(ctx, tc, dir, req.GetArgs(), env, stdout, stderr)
	} else {
		code, err = runCommand(ctx, tc, dir, append([]string{"-u", dir}, req.GetArgs()...), env, stdout, stderr)
	}
	if err != nil {
		return err
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{
		Exitcode: int32(code),
	}})
}

// runPolicyPack starts `python -u -m pulumi.policy <engine args> <pack dir>` from pulumi-policy.
//
// The engine configures an analyzer over gRPC (ConfigureStack) after it has connected, but pulumi-policy
// reads the stack's project/stack/config from PULUMI_* variables when it starts. sdk.PolicyProxy bridges
// the two: it serves the Analyzer API first (its port is our first stdout line), waits for ConfigureStack,
// and then forwards every call to the Python process we start with that configuration in its environment.
func runPolicyPack(
	ctx context.Context, tc toolchain.Toolchain, dir string, args, env []string, stdout, stderr io.Writer,
) (int, error) {
	proxy, proxyStdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return 0, err
	}
	cfg, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return 0, err
	}
	if cfg != nil { // nil when the engine asks for analyzer info without a stack (e.g. `pulumi policy publish`)
		config, err := jsonString(cfg.GetConfig(), "{}")
		if err != nil {
			return 0, err
		}
		secretKeys, err := jsonString(cfg.GetConfigSecretKeys(), "[]")
		if err != nil {
			return 0, err
		}
		env = append(env,
			"PULUMI_CONFIG="+config,
			"PULUMI_CONFIG_SECRET_KEYS="+secretKeys,
			"PULUMI_PROJECT="+cfg.GetProject(),
			"PULUMI_STACK="+cfg.GetStack(),
			"PULUMI_DRY_RUN="+strconv.FormatBool(cfg.GetDryRun()))
		// pulumi-policy defaults the organization when the variable is absent (DIY backends have none).
		if org := cfg.GetOrganization(); org != "" {
			env = append(env, "PULUMI_ORGANIZATION="+org)
		}
	}

	cmd, err := tc.Command(ctx, append(append([]string{"-u", "-m", "pulumi.policy"}, args...), dir)...)
	if err != nil {
		return 0, err
	}
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = proxyStdout, stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	// Attach reads the policy pack's port from its stdout, forwards the rest to ours, and waits for it to exit.
	return exitCode(cmd, proxy.Attach(ctx, cmd))
}

func runCommand(
	ctx context.Context, tc toolchain.Toolchain, dir string, args, env []string, stdout, stderr io.Writer,
) (int, error) {
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return 0, err
	}
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return exitCode(cmd, cmd.Run())
}

// exitCode turns the result of running cmd into the exit code to report; only failures to run at all are
// errors.
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), nil
	case cmd.ProcessState != nil:
		return cmd.ProcessState.ExitCode(), nil
	default:
		return -1, err
	}
}
