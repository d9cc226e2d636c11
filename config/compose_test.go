package config_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dangol/dangol/config"
)

// composeEnv returns the environment docker-compose.yml sets on a service;
// it accepts both the map and the list ("KEY=value") forms.
func composeEnv(t *testing.T, service string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Environment yaml.Node `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	svc, ok := doc.Services[service]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", service)
	}
	env := map[string]string{}
	switch svc.Environment.Kind {
	case yaml.MappingNode:
		if err := svc.Environment.Decode(&env); err != nil {
			t.Fatalf("service %s: environment: %v", service, err)
		}
	case yaml.SequenceNode:
		var list []string
		if err := svc.Environment.Decode(&list); err != nil {
			t.Fatalf("service %s: environment: %v", service, err)
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	case 0:
		// no environment
	default:
		t.Fatalf("service %s: environment is neither a map nor a list", service)
	}
	return env
}

func TestComposeEnvironmentIsDeclared(t *testing.T) {
	declared := map[string]bool{}
	for _, v := range config.Vars {
		declared[v.Name] = true
	}
	env := composeEnv(t, "dangol")
	var names []string
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !declared[name] {
			t.Errorf("docker-compose.yml sets %s on the dangol service, but config.Vars does not declare it", name)
		}
	}
	for _, name := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TWILIO_API_BASE", "SMTP_HOST"} {
		if env[name] == "" {
			t.Errorf("docker-compose.yml does not set %s on the dangol service", name)
		}
	}
}

// Secrets never live in the repository: docker-compose.yml may pass the
// cluster's secrets through from the shell (${VAR}), never hold them.
func TestComposeHoldsNoClusterSecret(t *testing.T) {
	env := composeEnv(t, "dangol")
	for _, name := range []string{"TEMPORAL_API_KEY", "TEMPORAL_TLS_KEY"} {
		if v, ok := env[name]; ok && !(strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}")) {
			t.Errorf("docker-compose.yml sets %s to a literal; pass it from the environment (%s: ${%s})", name, name, name)
		}
	}
}
