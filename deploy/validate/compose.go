package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/compose-spec/compose-go/v2/cli"
)

// CheckCompose loads a Compose file as docker compose would (interpolation from the env files,
// then the compose-spec JSON schema, which rejects unknown keys, then the model's consistency
// checks: undefined volumes, networks, depends_on targets) and returns the number of services.
func CheckCompose(ctx context.Context, file string, envFiles []string) (int, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return 0, err
	}
	opts := []cli.ProjectOptionsFn{
		cli.WithName("aibos-otel"),
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithConsistency(true),
		cli.WithInterpolation(true),
	}
	options, err := cli.NewProjectOptions([]string{abs}, opts...)
	if err != nil {
		return 0, err
	}
	project, err := options.LoadProject(ctx)
	if err != nil {
		return 0, fmt.Errorf("%s: %s", file, explain(err.Error()))
	}
	return len(project.Services) + len(project.DisabledServices), nil
}

// The schema library reports a key that additionalProperties: false refuses as "<path> false
// schema"; say it in words, keeping the path (services.NAME.KEY), which names the object and key.
var falseSchema = regexp.MustCompile(`(\S+) false schema`)

func explain(message string) string {
	return falseSchema.ReplaceAllString(message, "$1: unknown key (not in the compose specification)")
}
