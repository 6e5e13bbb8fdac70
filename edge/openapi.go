package edge

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/valyala/fasthttp"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the API's OpenAPI 3.1 description, the contract that the
// edge tests check every request and answer against (edgetest.Contract).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the OpenAPI 3.1 document as written (YAML).
func OpenAPIYAML() []byte { return openAPIYAML }

// OpenAPIJSON returns the OpenAPI 3.1 document as JSON, as GET
// /v1/openapi.json serves it. It panics if the embedded document is not
// YAML that converts to JSON (a test makes sure it does).
func OpenAPIJSON() []byte {
	b, err := openAPIJSON()
	if err != nil {
		panic(err)
	}
	return b
}

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("edge: openapi.yaml: %w", err)
	}
	doc, err := jsonValue(doc)
	if err != nil {
		return nil, fmt.Errorf("edge: openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// jsonValue turns what yaml.Unmarshal decoded into values encoding/json
// takes: mappings with keys other than strings are refused.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[k] = j
		}
		return v, nil
	case map[any]any:
		return nil, fmt.Errorf("a mapping has a key that is not a string: %v", v)
	case []any:
		for i, e := range v {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			v[i] = j
		}
		return v, nil
	}
	return v, nil
}

// serveOpenAPI serves GET /v1/openapi.json, without authentication.
func (s *Server) serveOpenAPI(ctx *fasthttp.RequestCtx) {
	b, err := openAPIJSON()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBodyRaw(b)
}
