package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tinySpec = `{"definitions":{
 "io.k8s.api.apps.v1.Thing":{"x-kubernetes-group-version-kind":[{"group":"apps","version":"v1","kind":"Thing"}],
  "description":"dropped","properties":{"apiVersion":{"type":"string"},"kind":{"type":"string"},
  "spec":{"$ref":"#/definitions/io.k8s.api.apps.v1.ThingSpec"}}},
 "io.k8s.api.apps.v1.ThingSpec":{"type":"object","required":["port"],"properties":{
  "port":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
  "cpu":{"$ref":"#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
  "n":{"type":"integer","x-kubernetes-list-type":"atomic"}}},
 "io.k8s.api.core.v1.Loop":{"x-kubernetes-group-version-kind":[{"group":"","version":"v1","kind":"Loop"}],
  "properties":{"next":{"$ref":"#/definitions/io.k8s.api.core.v1.Loop"}}},
 "io.k8s.apimachinery.pkg.util.intstr.IntOrString":{"type":"string","format":"int-or-string"},
 "io.k8s.apimachinery.pkg.api.resource.Quantity":{"type":"string"}}}`

func TestGenerate(t *testing.T) {
	files, err := generate([]byte(tinySpec), []gvk{{"apps/v1", "Thing"}})
	if err != nil {
		t.Fatal(err)
	}
	b, ok := files["thing-apps-v1.json"]
	if !ok {
		t.Fatalf("files %v", files)
	}
	var got any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"$schema":"http://json-schema.org/schema#","additionalProperties":false,"properties":{` +
		`"apiVersion":{"enum":["apps/v1"],"type":"string"},"kind":{"enum":["Thing"],"type":"string"},` +
		`"spec":{"additionalProperties":false,"properties":{` +
		`"cpu":{"oneOf":[{"type":"string"},{"type":"number"},{"type":"null"}]},` +
		`"n":{"type":["integer","null"]},` +
		`"port":{"oneOf":[{"type":"string"},{"type":"integer"}]}},"required":["port"],"type":["object","null"]}},"type":"object"}`
	if c, _ := json.Marshal(got); string(c) != want {
		t.Errorf("got  %s\nwant %s", c, want)
	}
	if _, err := generate([]byte(tinySpec), []gvk{{"v1", "Loop"}}); err == nil || !strings.Contains(err.Error(), "recursive") {
		t.Errorf("recursive type: %v", err)
	}
	if _, err := generate([]byte(tinySpec), []gvk{{"apps/v1beta1", "Thing"}}); err == nil {
		t.Error("unknown version accepted")
	}
}

func TestFileName(t *testing.T) {
	for k, want := range map[gvk]string{
		{"v1", "ConfigMap"}:                       "configmap-v1.json",
		{"apps/v1", "StatefulSet"}:                "statefulset-apps-v1.json",
		{"networking.k8s.io/v1", "NetworkPolicy"}: "networkpolicy-networking-v1.json",
	} {
		if got := k.fileName(); got != want {
			t.Errorf("%v: %s, want %s", k, got, want)
		}
	}
}

// TestSchemasUpToDate regenerates deploy/k8s/schemas and compares, when
// k8s.io/kubernetes is in the module cache (it never downloads).
func TestSchemasUpToDate(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	path, err := downloadSpec()
	if err != nil {
		t.Skipf("%s@%s not in the module cache (make k8s-schemas fetches it): %v", k8sModule, k8sVersion, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	manifests, _ := filepath.Glob("../*.yaml")
	valid, _ := filepath.Glob("../testdata/valid/*.yaml")
	kinds, err := manifestKinds(append(manifests, valid...))
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(raw, kinds)
	if err != nil {
		t.Fatal(err)
	}
	delete(files, "SOURCE")
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join("../schemas", name))
		if err != nil || string(got) != string(b) {
			t.Errorf("deploy/k8s/schemas/%s is not up to date (make k8s-schemas): %v", name, err)
		}
	}
}
