package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testcerts"
	"github.com/dangol/dangol/internal/testenv"
)

// tlsProxy terminates TLS (requiring a client certificate signed by the
// test CA when mutual is set) in front of the plaintext dev server: the
// dev server cannot serve TLS itself, and this is how a real cluster's
// frontend looks to the client.
func tlsProxy(t *testing.T, certs *testcerts.Set, mutual bool, backend string) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{certs.Server}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
	if mutual {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, certs.CAPool
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(b, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

// dial is how serve dials, under a deadline.
func dial(cfg config.Config) (client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := temporalOptions(cfg)
	o.ConnectionOptions.GetSystemInfoTimeout = 5 * time.Second
	return client.DialContext(ctx, o)
}

// The TEMPORAL_TLS_* settings dial a frontend that requires mutual TLS;
// without the client certificate the same frontend refuses.
func TestTemporalTLSDialsAClusterThatRequiresAClientCertificate(t *testing.T) {
	certs := testcerts.New(t)
	addr := tlsProxy(t, certs, true, testenv.Temporal(t))
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("TEMPORAL_TLS_CERT", certs.ClientCertFile)
	t.Setenv("TEMPORAL_TLS_KEY", certs.ClientKeyFile)
	t.Setenv("TEMPORAL_TLS_CA", certs.CAFile)
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", testcerts.ServerName)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	tc, err := dial(cfg)
	if err != nil {
		t.Fatalf("dial over mutual TLS: %v", err)
	}
	defer tc.Close()
	if _, err := tc.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
		t.Fatalf("a call over mutual TLS: %v", err)
	}

	// Without the client certificate: refused by the frontend.
	t.Setenv("TEMPORAL_TLS_CERT", "")
	t.Setenv("TEMPORAL_TLS_KEY", "")
	noCert, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := dial(noCert); err == nil {
		tc.Close()
		t.Fatal("dialled a frontend that requires a client certificate without one")
	}
	// Plaintext to a TLS frontend: refused too.
	t.Setenv("TEMPORAL_TLS_CA", "")
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "")
	plain, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := dial(plain); err == nil {
		tc.Close()
		t.Fatal("dialled a TLS frontend in plaintext")
	}
}

// An API key dials over TLS (here to a frontend with a private CA).
func TestTemporalAPIKeyDialsOverTLS(t *testing.T) {
	certs := testcerts.New(t)
	addr := tlsProxy(t, certs, false, testenv.Temporal(t))
	t.Setenv("TEMPORAL_ADDRESS", addr)
	t.Setenv("TEMPORAL_API_KEY", "test-api-key")
	t.Setenv("TEMPORAL_TLS_CA", certs.CAFile)
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	o := temporalOptions(cfg)
	if o.Credentials == nil || o.ConnectionOptions.TLS == nil {
		t.Fatalf("credentials %v, TLS %v", o.Credentials, o.ConnectionOptions.TLS)
	}
	tc, err := dial(cfg)
	if err != nil {
		t.Fatalf("dial with an API key over TLS: %v", err)
	}
	tc.Close()
}

// On a namespace without them, start-up registers dangol's search
// attributes (a self-hosted cluster allows it); a second start finds them.
func TestStartupRegistersSearchAttributes(t *testing.T) {
	ctx := context.Background()
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ns := fmt.Sprintf("sa-test-%d", rand.IntN(1e9))
	if _, err := tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	list := func() map[string]enums.IndexedValueType {
		t.Helper()
		// A new namespace reaches every service of the server within a few
		// seconds.
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := tc.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
			if err == nil {
				return r.GetCustomAttributes()
			}
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, k := range searchAttributes {
		if _, ok := list()[k.GetName()]; ok {
			t.Fatalf("new namespace already has %s", k.GetName())
		}
	}
	if err := ensureSearchAttributes(ctx, tc.OperatorService(), "addr", ns); err != nil {
		t.Fatal(err)
	}
	got := list()
	for _, k := range searchAttributes {
		if got[k.GetName()] != enums.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("%s: %v after start-up, want Keyword", k.GetName(), got[k.GetName()])
		}
	}
	if err := ensureSearchAttributes(ctx, tc.OperatorService(), "addr", ns); err != nil {
		t.Fatalf("second start-up: %v", err)
	}
}

// testenv's dev server registers the same search attributes start-up
// does, so the tests run what production needs.
func TestTestenvRegistersDangolsSearchAttributes(t *testing.T) {
	var want []string
	for _, k := range searchAttributes {
		want = append(want, k.GetName()+"="+valueType(k.GetValueType()))
	}
	if strings.Join(want, ",") != strings.Join(testenv.SearchAttributes, ",") {
		t.Errorf("start-up registers %v; testenv's dev server %v", want, testenv.SearchAttributes)
	}
}

// refusingOperator is Temporal Cloud as the operator service sees it: it
// lists (or not) and refuses to add.
type refusingOperator struct {
	operatorservice.OperatorServiceClient
	listErr error
	have    map[string]enums.IndexedValueType
}

func (o refusingOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	if o.listErr != nil {
		return nil, o.listErr
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: o.have}, nil
}

func (o refusingOperator) AddSearchAttributes(context.Context, *operatorservice.AddSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	return nil, serviceerror.NewPermissionDenied("Request unauthorized.", "")
}

// Where the server refuses to add them, start-up fails with the exact
// commands that register them; where it refuses even to list them, it
// carries on (they may be registered) after logging the commands.
func TestSearchAttributesRefusedNameTheCommands(t *testing.T) {
	ctx := context.Background()
	err := ensureSearchAttributes(ctx, refusingOperator{}, "ns.acct.tmprl.cloud:7233", "ns.acct")
	want := "temporal operator search-attribute create --address ns.acct.tmprl.cloud:7233 --namespace ns.acct --name CustomerId --name ProgramId --name ProgramKind --type Keyword (self-hosted), or " +
		"tcld namespace search-attributes add --namespace ns.acct --search-attribute CustomerId=Keyword --search-attribute ProgramId=Keyword --search-attribute ProgramKind=Keyword (Temporal Cloud)"
	if err == nil || !strings.HasSuffix(err.Error(), want) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %v\nwant one ending %s", err, want)
	}
	if err := ensureSearchAttributes(ctx, refusingOperator{listErr: serviceerror.NewUnimplemented("no")}, "a", "ns"); err != nil {
		t.Fatalf("list refused: %v, want start-up to carry on", err)
	}
	all := map[string]enums.IndexedValueType{"ProgramId": enums.INDEXED_VALUE_TYPE_KEYWORD, "CustomerId": enums.INDEXED_VALUE_TYPE_KEYWORD, "ProgramKind": enums.INDEXED_VALUE_TYPE_KEYWORD}
	if err := ensureSearchAttributes(ctx, refusingOperator{have: all}, "a", "ns"); err != nil {
		t.Fatalf("all registered: %v", err)
	}
	all["ProgramId"] = enums.INDEXED_VALUE_TYPE_TEXT
	if err := ensureSearchAttributes(ctx, refusingOperator{have: all}, "a", "ns"); err == nil || !strings.Contains(err.Error(), "ProgramId is Text") {
		t.Fatalf("wrong type: %v", err)
	}
}
