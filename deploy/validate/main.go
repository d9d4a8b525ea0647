// Command aibos-deploy-validate checks the project's deployment files offline and strictly.
//
//	aibos-deploy-validate k8s FILE|-                      multi-document YAML (the output of `kubectl kustomize`)
//	aibos-deploy-validate compose [--env-file F] FILE     a Compose file, as `docker compose` would load it
//
// k8s: every document is decoded into its k8s.io/api type, chosen by apiVersion and kind, with
// apimachinery's strict decoder: an unknown or duplicated field, a kind this checker does not know,
// or a value of the wrong type is an error naming the object (kind/name) and the field. No cluster
// is asked (there is none in CI), so this checks the schema, not admission (quotas, policies).
//
// compose: the file is loaded by github.com/compose-spec/compose-go/v2, the library docker compose
// itself uses, with its JSON-schema validation on: an unknown key is an error naming it.
//
// Exit status: 0 valid, 1 invalid (every problem on stderr, one per line), 2 usage.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: aibos-deploy-validate k8s FILE|-  |  compose [--env-file F] FILE  |  kustomize DIR")
		return 2
	}
	switch args[0] {
	case "k8s":
		data, err := readInput(args[1], stdin)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		objects, problems := CheckKubernetes(data)
		return report(stdout, stderr, fmt.Sprintf("%d objects", objects), problems)
	case "compose":
		envFiles, file, err := composeArgs(args[1:])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		services, err := CheckCompose(context.Background(), file, envFiles)
		if err != nil {
			return report(stdout, stderr, "", []string{err.Error()})
		}
		return report(stdout, stderr, fmt.Sprintf("%d services", services), nil)
	case "kustomize":
		rendered, err := Kustomize(args[1])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		_, _ = stdout.Write(rendered)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown mode %q (k8s, compose or kustomize)\n", args[0])
		return 2
	}
}

func composeArgs(args []string) (envFiles []string, file string, err error) {
	for i := 0; i < len(args); i++ {
		if args[i] == "--env-file" {
			if i+1 >= len(args) {
				return nil, "", fmt.Errorf("--env-file needs a file")
			}
			envFiles = append(envFiles, args[i+1])
			i++
			continue
		}
		if file != "" {
			return nil, "", fmt.Errorf("one compose file only (got %q and %q)", file, args[i])
		}
		file = args[i]
	}
	if file == "" {
		return nil, "", fmt.Errorf("no compose file given")
	}
	return envFiles, file, nil
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, maxInput+1))
	}
	return os.ReadFile(name)
}

func report(stdout, stderr io.Writer, ok string, problems []string) int {
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "valid: %s\n", ok)
		return 0
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	return 1
}
