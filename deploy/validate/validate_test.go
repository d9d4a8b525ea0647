package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
`

func TestKubernetesAcceptsAValidObject(t *testing.T) {
	n, problems := CheckKubernetes([]byte("# comment\n---\n" + deployment + "---\n"))
	if n != 1 || len(problems) != 0 {
		t.Fatalf("got %d objects, problems %v", n, problems)
	}
}

func TestKubernetesNamesObjectAndUnknownField(t *testing.T) {
	bad := strings.Replace(deployment, "image: nginx", "image: nginx\n          imagePullPolcy: Always", 1)
	_, problems := CheckKubernetes([]byte(deployment + "---\n" + strings.Replace(bad, "name: web\nspec", "name: api\nspec", 1)))
	if len(problems) != 1 {
		t.Fatalf("want one problem, got %v", problems)
	}
	for _, want := range []string{"Deployment/api", `spec.template.spec.containers[0].imagePullPolcy`, "unknown field"} {
		if !strings.Contains(problems[0], want) {
			t.Errorf("%q does not name %q", problems[0], want)
		}
	}
}

func TestKubernetesRejectsWrongTypeAndUnknownKind(t *testing.T) {
	_, problems := CheckKubernetes([]byte(strings.Replace(deployment, "spec:\n  selector", "spec:\n  replicas: three\n  selector", 1)))
	if len(problems) != 1 || !strings.Contains(problems[0], "Deployment/web") {
		t.Fatalf("wrong type not reported: %v", problems)
	}
	_, problems = CheckKubernetes([]byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"))
	if len(problems) != 1 || !strings.Contains(problems[0], "Widget/w") {
		t.Fatalf("unknown kind not reported: %v", problems)
	}
}

func TestKubernetesRejectsEmptyInput(t *testing.T) {
	if _, problems := CheckKubernetes([]byte("# nothing\n")); len(problems) != 1 {
		t.Fatalf("empty input accepted: %v", problems)
	}
}

func TestComposeNamesServiceAndUnknownKey(t *testing.T) {
	dir := t.TempDir()
	good := "services:\n  web:\n    image: nginx\n    restart: always\n"
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := CheckCompose(context.Background(), file, nil); err != nil || n != 1 {
		t.Fatalf("valid file: %d services, %v", n, err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(good, "restart:", "restrat:", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := CheckCompose(context.Background(), file, nil)
	if err == nil || !strings.Contains(err.Error(), "services.web.restrat: unknown key") {
		t.Fatalf("unknown key not named: %v", err)
	}
}
