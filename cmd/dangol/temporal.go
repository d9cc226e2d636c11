package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/store"
)

// temporalOptions is how every dangol command reaches Temporal: address,
// namespace, and for a real cluster or Temporal Cloud the TLS
// configuration (client certificate, CA, server name) and API key.
func temporalOptions(cfg config.Config) client.Options {
	o := client.Options{
		HostPort: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(slog.Default()),
	}
	if cfg.Temporal.TLS != nil {
		o.ConnectionOptions.TLS = cfg.Temporal.TLS.Clone()
	}
	if cfg.Temporal.APIKey != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(cfg.Temporal.APIKey)
	}
	return o
}

// openStore opens the pool with DATABASE_MAX_CONNS and
// DATABASE_STATEMENT_TIMEOUT.
func openStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	return store.OpenWith(ctx, cfg.DatabaseURL, store.PoolOptions{
		MaxConns: cfg.Database.MaxConns, StatementTimeout: cfg.Database.StatementTimeout,
	})
}

// searchAttributes are the custom search attributes every enrolment start
// sets; a namespace without them refuses the start.
var searchAttributes = []temporal.SearchAttributeKey{enrol.AttrProgramID, enrol.AttrCustomerID, enrol.AttrProgramKind}

// ensureSearchAttributes registers the missing search attributes through
// the operator service, which a self-hosted cluster allows. Temporal
// Cloud does not (there they are added with tcld or the Cloud UI): when
// the server refuses to list them, dangol logs the commands and carries
// on, as they may well be registered; when it lists them missing and
// refuses to add them, start-up fails with the commands, since every
// enrolment start would fail.
func ensureSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, address, namespace string) error {
	want := map[string]enums.IndexedValueType{}
	for _, k := range searchAttributes {
		want[k.GetName()] = k.GetValueType()
	}
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		slog.Warn("cannot list Temporal search attributes (Temporal Cloud does not allow it); if they are not registered, enrolments cannot start; register them once with",
			"command", registerCommands(address, namespace, want), "error", err)
		return nil
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		have, ok := list.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
		} else if have != typ {
			return fmt.Errorf("temporal search attribute %s is %s in namespace %s; dangol needs %s", name, valueType(have), namespace, valueType(typ))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing}); err != nil {
		return fmt.Errorf("temporal search attributes %s are not registered in namespace %s and the server refused to add them (%w); register them once with: %s",
			strings.Join(sortedNames(missing), ", "), namespace, err, registerCommands(address, namespace, missing))
	}
	slog.Info("registered Temporal search attributes", "namespace", namespace, "names", sortedNames(missing))
	return nil
}

// registerCommands is the one-off command for a self-hosted cluster
// (temporal CLI) and for Temporal Cloud (tcld).
func registerCommands(address, namespace string, attrs map[string]enums.IndexedValueType) string {
	byType := map[string][]string{}
	for _, name := range sortedNames(attrs) {
		t := valueType(attrs[name])
		byType[t] = append(byType[t], name)
	}
	var cli []string
	for _, t := range sortedKeys(byType) {
		cmd := fmt.Sprintf("temporal operator search-attribute create --address %s --namespace %s", address, namespace)
		for _, name := range byType[t] {
			cmd += " --name " + name
		}
		cli = append(cli, cmd+" --type "+t)
	}
	cloud := "tcld namespace search-attributes add --namespace " + namespace
	for _, name := range sortedNames(attrs) {
		cloud += fmt.Sprintf(" --search-attribute %s=%s", name, valueType(attrs[name]))
	}
	return strings.Join(cli, " && ") + " (self-hosted), or " + cloud + " (Temporal Cloud)"
}

// valueType is the type's name as the CLIs spell it (Keyword, Text, …).
func valueType(t enums.IndexedValueType) string { return t.String() }

func sortedNames(m map[string]enums.IndexedValueType) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
