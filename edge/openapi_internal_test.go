package edge

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutesAndErrors: every route of the router is in the
// OpenAPI document with its method, and every error status and code of
// statusTable is documented under that status.
func TestOpenAPICoversRoutesAndErrors(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
			Schemas map[string]struct {
				Properties struct {
					Error struct {
						Properties struct {
							Code struct {
								Const string   `json:"const"`
								Enum  []string `json:"enum"`
							} `json:"code"`
						} `json:"properties"`
					} `json:"error"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPIJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	// codes[status] = the codes the operations document under it.
	codes := map[string]map[string]bool{}
	for r := routeUnmatched + 1; r < numRoutes; r++ {
		op, ok := doc.Paths[routes[r].pattern][strings.ToLower(routes[r].method)]
		if !ok {
			t.Errorf("%s %s is not in openapi.yaml", routes[r].method, routes[r].pattern)
			continue
		}
		var o struct {
			Responses map[string]struct {
				Ref string `json:"$ref"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(op, &o); err != nil {
			t.Fatal(err)
		}
		for status, resp := range o.Responses {
			name, ok := strings.CutPrefix(resp.Ref, "#/components/responses/")
			if !ok {
				continue
			}
			ref := doc.Components.Responses[name].Content["application/json"].Schema.Ref
			sc, ok := doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
			if !ok {
				t.Errorf("response %s: no schema %q", name, ref)
				continue
			}
			if codes[status] == nil {
				codes[status] = map[string]bool{}
			}
			c := sc.Properties.Error.Properties.Code
			if c.Const != "" {
				codes[status][c.Const] = true
			}
			for _, e := range c.Enum {
				codes[status][e] = true
			}
		}
	}
	for _, e := range statusTable {
		status, code := classify(e.err)
		if e.err == errMethodNotAllowed {
			// Any path can answer it; info.description and
			// components/responses/MethodNotAllowed say so.
			if _, ok := doc.Components.Responses["MethodNotAllowed"]; !ok {
				t.Errorf("no MethodNotAllowed response")
			}
			continue
		}
		if !codes[strconv.Itoa(status)][code] {
			t.Errorf("error %s (%d) is not documented under %d", code, status, status)
		}
	}
	if !codes["500"][codeInternal] {
		t.Errorf("500 %s is not documented", codeInternal)
	}
}
