package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestParseArgs(t *testing.T) {
	cases := map[string]struct {
		args []string
		want cliArgs
	}{
		"engine only":   {[]string{"127.0.0.1:4000"}, cliArgs{engineAddress: "127.0.0.1:4000"}},
		"engine flags":  {[]string{"--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:1"}, cliArgs{engineAddress: "127.0.0.1:1", tracing: "http://t", logToStderr: true, verbose: 9}},
		"old CLI flags": {[]string{"-root=/p", "-virtualenv", "venv", "-unknown", "127.0.0.1:2"}, cliArgs{engineAddress: "127.0.0.1:2"}},
		"executor":      {[]string{"-use-executor=/x/exec", "127.0.0.1:3"}, cliArgs{engineAddress: "127.0.0.1:3", executor: "/x/exec"}},
	}
	for name, tc := range cases {
		if got := parseArgs(tc.args); got != tc.want {
			t.Errorf("%s: parseArgs(%q) = %+v, want %+v", name, tc.args, got, tc.want)
		}
	}
}

func TestResolveToolchainRejectsUnknownOptions(t *testing.T) {
	for _, opts := range []map[string]any{{"toolchain": "conda"}, {"typechecker": "pytype"}, {"virtualenv": 3}} {
		s, err := structpb.NewStruct(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := resolveToolchain(&pulumirpc.ProgramInfo{RootDirectory: "/p", Options: s}); err == nil {
			t.Errorf("resolveToolchain(%v) succeeded, want an error", opts)
		}
	}
}

// fakeExec stands in for pulumi-language-python-exec: it records its arguments and config environment and
// exits with $FAKE_EXIT_CODE.
const fakeExec = `
import json, os, sys
json.dump({"argv": sys.argv[1:], "config": os.environ["PULUMI_CONFIG"],
           "secret_keys": os.environ["PULUMI_CONFIG_SECRET_KEYS"], "cwd": os.getcwd()},
          open(os.environ["FAKE_EXEC_OUT"], "w"))
sys.exit(int(os.environ.get("FAKE_EXIT_CODE", "0")))
`

func TestRun(t *testing.T) {
	dir := t.TempDir()
	shim := filepath.Join(dir, "exec.py")
	if err := os.WriteFile(shim, []byte(fakeExec), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	t.Setenv("FAKE_EXEC_OUT", out)

	host := newPythonHost(shim, "127.0.0.1:5000", "")
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:6000", Project: "proj", Stack: "dev", Pwd: dir, Program: ".",
		Config: map[string]string{"proj:token": "s3cr3t"}, ConfigSecretKeys: []string{"proj:token"},
		DryRun: true, Parallel: 8, Organization: "org",
		Info: &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: "."},
	}

	resp, err := host.Run(context.Background(), req)
	if err != nil || resp.GetError() != "" || resp.GetBail() {
		t.Fatalf("Run() = %v, %v; want success", resp, err)
	}
	var got struct {
		Argv       []string `json:"argv"`
		Config     string   `json:"config"`
		SecretKeys string   `json:"secret_keys"`
		Cwd        string   `json:"cwd"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	wantArgv := []string{
		"--monitor", "127.0.0.1:6000", "--engine", "127.0.0.1:5000", "--project", "proj",
		"--root_directory", dir, "--stack", "dev", "--pwd", dir, "--dry_run", "true", "--parallel", "8",
		"--organization", "org", ".",
	}
	if !reflect.DeepEqual(got.Argv, wantArgv) {
		t.Errorf("exec argv = %q, want %q", got.Argv, wantArgv)
	}
	if got.Config != `{"proj:token":"s3cr3t"}` || got.SecretKeys != `["proj:token"]` || got.Cwd != dir {
		t.Errorf("exec saw config=%s secret_keys=%s cwd=%s", got.Config, got.SecretKeys, got.Cwd)
	}

	t.Setenv("FAKE_EXIT_CODE", "3")
	if resp, _ := host.Run(context.Background(), req); resp.GetError() != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3: Run() = %v", resp)
	}
	t.Setenv("FAKE_EXIT_CODE", "32") // the shim already reported the error
	if resp, _ := host.Run(context.Background(), req); !resp.GetBail() || resp.GetError() != "" {
		t.Errorf("exit 32: Run() = %v, want bail", resp)
	}
}
