package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startNoopProcess runs `boxoffice noop` on a free port and waits until
// /readyz is 200; it is killed at the end of the test.
func startNoopProcess(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(binPath, "noop", "--http", "127.0.0.1:0")
	var log bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`http=(127\.0\.0\.1:[0-9]+)`)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); pw.Close() })
	select {
	case addr := <-addrc:
		base := "http://" + addr
		if code, err := call("GET", base+"/readyz", "", nil); err != nil || code != 200 {
			t.Fatalf("noop /readyz: %d %v", code, err)
		}
		return base
	case <-time.After(10 * time.Second):
		t.Fatalf("boxoffice noop logged no address")
	}
	return ""
}

// rawAnswer is a response's status, headers (Date's value blanked: it is the
// clock) and body.
type rawAnswer struct {
	status int
	header http.Header
	body   string
}

func rawCall(t *testing.T, method, url, body string) rawAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	if h.Get("Date") != "" {
		h.Set("Date", "<date>")
	}
	return rawAnswer{resp.StatusCode, h, string(b)}
}

// TestNoopProcessAnswersLikeServe: `boxoffice noop`, the ceiling of
// bench-hot, is a process of its own whose answers to a GA hold and its
// release are the real server's, headers included, but for the hold id's
// random part and the expiry instant (the bodies sim's
// TestNoopAnswersLikeTheAPI compares in detail); and the load generator runs
// its ceiling against it with --ceiling-target.
func TestNoopProcessAnswersLikeServe(t *testing.T) {
	srv := startServer(t, t.TempDir())
	defer srv.stop()
	noop := startNoopProcess(t)
	var answers [2][2]rawAnswer // [serve, noop][hold, release]
	for i, base := range []string{srv.base, noop} {
		createShow(t, base, "same", 600)
		answers[i][0] = rawCall(t, "POST", base+"/v1/shows/same/holds", `{"user":"u1","section":"pit","quantity":1}`)
		var h holdDoc
		if err := json.Unmarshal([]byte(answers[i][0].body), &h); err != nil || answers[i][0].status != 201 {
			t.Fatalf("%s: hold %d %s (%v)", base, answers[i][0].status, answers[i][0].body, err)
		}
		answers[i][1] = rawCall(t, "DELETE", base+"/v1/shows/same/holds/"+h.ID, "")
		t.Logf("%s: hold %d %v %s; release %d %v", base, answers[i][0].status, answers[i][0].header, answers[i][0].body,
			answers[i][1].status, answers[i][1].header)
	}
	shape := regexp.MustCompile(`~[a-z2-7]{26}"|"expires_at":"[^"]*"`)
	for k, what := range []string{"hold", "release"} {
		real, fake := answers[0][k], answers[1][k]
		if real.status != fake.status {
			t.Errorf("%s: status %d, no-op %d", what, real.status, fake.status)
		}
		if len(real.header) != len(fake.header) {
			t.Errorf("%s: headers %v, no-op %v", what, real.header, fake.header)
		}
		for name, v := range real.header {
			if got := fake.header.Values(name); strings.Join(got, ",") != strings.Join(v, ",") {
				t.Errorf("%s: header %s = %q, no-op %q", what, name, v, got)
			}
		}
		if len(real.body) != len(fake.body) || shape.ReplaceAllString(real.body, "") != shape.ReplaceAllString(fake.body, "") {
			t.Errorf("%s: bodies differ:\nserve %s\nnoop  %s", what, real.body, fake.body)
		}
	}
	out, err := exec.Command(binPath, "load", "ga-holds", "--target", srv.base, "--admin-token", adminToken,
		"--connections", "4", "--duration", "1s", "--ceiling-target", noop, "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	var rep struct {
		Seed    uint64
		Ceiling *struct {
			Target string
			All    struct{ Count, Errors int }
		}
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("load report: %v\n%s", err, out)
	}
	t.Logf("load seed %d", rep.Seed)
	if c := rep.Ceiling; c == nil || c.All.Count == 0 || c.All.Errors != 0 || !strings.HasPrefix(c.Target, noop+" ") {
		t.Fatalf("ceiling %+v: want a run against %s without errors", c, noop)
	}
}
