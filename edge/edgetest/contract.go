package edgetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/boxoffice/boxoffice/edge"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// Contract checks requests and their answers against an OpenAPI 3.1
// document with pb33f/libopenapi-validator. It is safe for concurrent use.
type Contract struct {
	mu sync.Mutex // serializes the validator
	v  validator.Validator
}

// NewContract builds a Contract of spec (YAML or JSON). It fails when spec
// is not a valid OpenAPI 3.1 document.
func NewContract(spec []byte) (*Contract, error) {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		return nil, fmt.Errorf("openapi: version %q, want 3.1", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, fmt.Errorf("openapi: %w", errors.Join(errs...))
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		return nil, fmt.Errorf("openapi: the document is not valid OpenAPI: %s", describe(verrs))
	}
	return &Contract{v: v}, nil
}

// edgeContract is the Contract of the edge's own document, built once.
var edgeContract = sync.OnceValues(func() (*Contract, error) { return NewContract(edge.OpenAPIYAML()) })

// EdgeContract returns the Contract of the edge's embedded OpenAPI document.
func EdgeContract() (*Contract, error) { return edgeContract() }

// Exchange is one request and its answer, as a client saw them.
type Exchange struct {
	Method, Path string // Path with its query
	ReqHeader    http.Header
	ReqBody      []byte
	Status       int
	Header       http.Header
	Body         []byte
}

// Check returns an error when the exchange breaks the contract:
//
//   - a 404 not_found (no route) or 405 method_not_allowed (with Allow) is
//     right for any request, as long as its body is an error body;
//   - otherwise the request's route and method must be in the document;
//   - a request the document accepts may be answered with any status the
//     operation documents; one it refuses (a malformed body, a missing
//     token, an out-of-range header) must be answered with a documented 4xx;
//   - the answer's status, headers and body must match the operation's
//     response for that status.
func (c *Contract) Check(x Exchange) error {
	if x.Status == http.StatusNotFound || x.Status == http.StatusMethodNotAllowed {
		code, err := errorCode(x.Body)
		if err != nil {
			return fmt.Errorf("%d answer: %w", x.Status, err)
		}
		switch {
		case x.Status == http.StatusNotFound && code == "not_found":
			return nil
		case x.Status == http.StatusMethodNotAllowed && code == "method_not_allowed":
			if x.Header.Get("Allow") == "" {
				return errors.New("405 without Allow")
			}
			return nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reqOK, reqErrs := c.v.ValidateHttpRequest(x.request())
	for _, e := range reqErrs {
		if e.ValidationType == helpers.PathValidation {
			return fmt.Errorf("route not in the document: %s", describe(reqErrs))
		}
	}
	if !reqOK && (x.Status < 400 || x.Status > 499) {
		return fmt.Errorf("answered %d to a request the document refuses: %s", x.Status, describe(reqErrs))
	}
	if ok, errs := c.v.ValidateHttpResponse(x.request(), x.response()); !ok {
		return fmt.Errorf("answer %d does not match the document: %s", x.Status, describe(errs))
	}
	return nil
}

func (x *Exchange) request() *http.Request {
	u, err := url.Parse("http://boxoffice" + x.Path)
	if err != nil {
		u = &url.URL{Scheme: "http", Host: "boxoffice", Path: x.Path}
	}
	r := &http.Request{Method: x.Method, URL: u, Header: x.ReqHeader.Clone(), Host: "boxoffice",
		Body: io.NopCloser(bytes.NewReader(x.ReqBody)), ContentLength: int64(len(x.ReqBody))}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r
}

func (x *Exchange) response() *http.Response {
	return &http.Response{StatusCode: x.Status, Status: strconv.Itoa(x.Status), Header: x.Header.Clone(),
		Body: io.NopCloser(bytes.NewReader(x.Body)), ContentLength: int64(len(x.Body))}
}

// errorCode returns the code of an error body {"error":{"code","message"}}.
func errorCode(body []byte) (string, error) {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		return "", fmt.Errorf("not an error body: %q", body)
	}
	return e.Error.Code, nil
}

// describe lists validation errors with their schema failures.
func describe(errs []*verrors.ValidationError) string {
	var b strings.Builder
	for i, e := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Message)
		if e.Reason != "" {
			b.WriteString(": " + e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, " [%s: %s]", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}
