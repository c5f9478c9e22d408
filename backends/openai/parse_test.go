package openai

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func readEvents(r io.Reader, max int) ([]string, error) {
	sr := newSSEReader(r, max)
	var out []string
	for {
		d, err := sr.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(d))
	}
}

func TestSSE(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"data: a\r\rdata:b\r\r", []string{"a", "b"}},
		{"data: a\ndata: b\n\n", []string{"a\nb"}},
		{": keep-alive\n\ndata: x\n: comment inside\n\n", []string{"x"}},
		{"data:x\n\ndata:  two spaces\n\n", []string{"x", " two spaces"}},
		{"event: completion\nid: 7\nretry: 100\ndata: x\n\n", []string{"x"}},
		{"data\n\n", []string{""}},
		{"\n\n\ndata: a\n\n\n\n", []string{"a"}},
		{"data: a\n\ndata: cut", []string{"a"}},   // the last event has no end
		{"data: a\n\ndata: cut\n", []string{"a"}}, // nor here
		{"\uFEFFdata: bom\n\n", []string{"bom"}},
		{"data: [DONE]\n\n", []string{"[DONE]"}},
		{"", nil},
	} {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := readEvents(r, 1<<10)
			if err != io.EOF {
				t.Errorf("%q: error %v, want EOF", c.in, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%q: events %q, want %q", c.in, got, c.want)
			}
		}
	}
	_, err := readEvents(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50)
	if err != errEventTooLong {
		t.Errorf("long line: %v", err)
	}
	_, err = readEvents(strings.NewReader(strings.Repeat("data: 0123456789\n", 10)+"\n"), 50)
	if err != errEventTooLong {
		t.Errorf("long event: %v", err)
	}
	_, err = readEvents(iotest.TimeoutReader(strings.NewReader("data: a\n\ndata: b\n\n")), 1<<10)
	if err == nil || err == io.EOF {
		t.Errorf("read error: %v", err)
	}
}

// FuzzSSE: no panic on any input; the events read back the same after
// being written out again; reading byte by byte changes nothing.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "data: a\r\n\r\n: c\rdata:b\r\rdata: x", "\uFEFFdata\n\n", "event: e\ndata: 1\ndata: 2\n\n", "data: [DONE]\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		events, err := readEvents(bytes.NewReader(in), 1<<12)
		if err != io.EOF && err != errEventTooLong {
			t.Fatalf("error %v", err)
		}
		if err == errEventTooLong {
			return
		}
		slow, err := readEvents(iotest.OneByteReader(bytes.NewReader(in)), 1<<12)
		if err != io.EOF || !reflect.DeepEqual(slow, events) {
			t.Fatalf("byte by byte: %q (%v), at once: %q", slow, err, events)
		}
		var buf bytes.Buffer
		for _, e := range events {
			for _, line := range strings.Split(e, "\n") {
				buf.WriteString("data: " + line + "\n")
			}
			buf.WriteString("\n")
		}
		again, err := readEvents(&buf, 1<<13)
		if err != io.EOF || !reflect.DeepEqual(again, events) {
			t.Fatalf("written out and read again: %q (%v), want %q", again, err, events)
		}
	})
}

func f64(x float64) *float64 { return &x }

func TestParseCompletion(t *testing.T) {
	body := `{"id":"cmpl-1","object":"text_completion","choices":[{"index":0,"text":"The sky is blue","logprobs":{
		"tokens":["The"," sky"," is"," blue"],"token_logprobs":[null,-2.5,-0.5,-1.25],
		"top_logprobs":[null,{" sky":-2.5," sea":-1.0},{" is":-0.5},{" blue":-1.25," grey":-1.5}],
		"text_offset":[0,3,7,10]},"finish_reason":"length"}],"usage":{"prompt_tokens":4,"completion_tokens":0,"total_tokens":4}}`
	c, err := parseCompletion([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != "The sky is blue" || c.FinishReason != "length" || c.Usage.PromptTokens != 4 || len(c.Logprobs.TokenLogprobs) != 4 {
		t.Fatalf("%+v", c)
	}
	for _, s := range []struct {
		ctx, cont string
		want      float64
		k, n      int
		greedy    bool
	}{
		{"The sky", " is blue", -1.75, 2, 2, true},
		{"The", " sky is blue", -4.25, 1, 3, false},
		{"The sky is", " blue", -1.25, 3, 1, true},
		{"The sk", "y is blue", -4.25, 1, 3, false}, // the continuation starts inside " sky"
	} {
		r, err := scoreContinuation(c, s.ctx, s.cont, true)
		if err != nil {
			t.Fatalf("%q|%q: %v", s.ctx, s.cont, err)
		}
		if math.Abs(r.Logprob-s.want) > 1e-12 || r.ContextTokens != s.k || r.Tokens != s.n || r.Greedy != s.greedy || len(r.TokenLogprobs) != s.n {
			t.Errorf("%q|%q: %+v", s.ctx, s.cont, r)
		}
	}
	// Offsets count code points, not bytes: the boundary after "Zü" is 2.
	u := &completion{Text: "Zürich", Logprobs: &logprobs{TokenLogprobs: []*float64{nil, f64(-1), f64(-2), f64(-3)}, TextOffset: []int{0, 1, 2, 3},
		hasTokenLogprobs: true, hasTextOffset: true}}
	r, err := scoreContinuation(u, "Zü", "rich", false)
	if err != nil || r.ContextTokens != 2 || r.Tokens != 2 || r.Logprob != -5 || r.Greedy {
		t.Errorf("code points: %+v %v", r, err)
	}

	// A server counting "<s>" in the offsets is read right.
	v := &completion{Text: "ab cd", Usage: &usage{PromptTokens: 3}, Logprobs: &logprobs{Tokens: []string{"<s>", "ab", " cd"},
		TokenLogprobs: []*float64{nil, f64(-1), f64(-2)}, TextOffset: []int{0, 3, 5}, hasTokenLogprobs: true, hasTextOffset: true}}
	r, err = scoreContinuation(v, "ab", " cd", false)
	if err != nil || r.ContextTokens != 2 || r.Tokens != 1 || r.Logprob != -2 {
		t.Errorf("shifted offsets: %+v %v", r, err)
	}

	if _, err := parseCompletion([]byte(`{"error":{"message":"nope","type":"invalid_request_error"}}`)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("error body: %v", err)
	}
	var se *serverError
	if _, err := parseCompletion([]byte(`{"error":{"message":"x"}}`)); !errors.As(err, &se) {
		t.Errorf("error body gives %T", err)
	}
}

func TestParseChat(t *testing.T) {
	c, err := parseChat([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`))
	if err != nil || c.Text != "hi" || c.FinishReason != "stop" || c.Usage.CompletionTokens != 1 {
		t.Errorf("%+v %v", c, err)
	}
	c, err = parseChatChunk([]byte(`{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`))
	if err != nil || c.Text != "" || c.FinishReason != "" || !c.HasChoice {
		t.Errorf("role chunk %+v %v", c, err)
	}
	c, err = parseChatChunk([]byte(`{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":7}}`))
	if err != nil || c.HasChoice || c.Usage.CompletionTokens != 7 {
		t.Errorf("usage chunk %+v %v", c, err)
	}
	if _, err := parseChat([]byte(`{"choices":[{"message":{"content":null}}]}`)); err != nil {
		t.Errorf("null content: %v", err)
	}
}

func TestParseTokens(t *testing.T) {
	for _, c := range []struct {
		body string
		ids  []int
		ok   bool
	}{
		{`{"tokens":[1,2,3],"count":3,"max_model_len":4096}`, []int{1, 2, 3}, true},
		{`{"tokens":[{"id":5,"piece":"a"},{"id":6,"piece":"b"}]}`, []int{5, 6}, true},
		{`{"tokens":[]}`, []int{}, true},
		{`{"count":3}`, nil, false},
	} {
		ids, ok, err := parseTokens([]byte(c.body))
		if err != nil || ok != c.ok || !reflect.DeepEqual(ids, c.ids) {
			t.Errorf("%s: %v %v %v", c.body, ids, ok, err)
		}
	}
	if _, _, err := parseTokens([]byte(`{"tokens":["a"]}`)); err == nil {
		t.Error("string tokens accepted")
	}
}

func fuzzSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
}

// FuzzParseCompletion: no panic on any body, in the parser or in reading a
// continuation's score from what it returns.
func FuzzParseCompletion(f *testing.F) {
	fuzzSeeds(f,
		`{"choices":[{"text":"ab","logprobs":{"tokens":["a","b"],"token_logprobs":[null,-1],"top_logprobs":[null,{"b":-1}],"text_offset":[0,1]}}],"usage":{"prompt_tokens":2}}`,
		`{"choices":[{"text":"ab","logprobs":{"token_logprobs":[null,-1,-2],"text_offset":[0,5,-3]}}],"usage":{"prompt_tokens":9}}`,
		`{"choices":[],"usage":null}`, `{"error":{"message":"x"}}`, `{"choices":[{"text":null,"finish_reason":1}]}`, `[]`, `null`)
	f.Fuzz(func(t *testing.T, body []byte) {
		if c, err := parseCompletion(body); err == nil {
			scoreContinuation(c, "a", "b", true)
			scoreContinuation(c, "", "ab", false)
			cutStop(c.Text, c.FinishReason, []string{"b"})
		}
		parseCompletionChunk(body)
		parseTokens(body)
		parseModels(body)
		parsePrompt(body)
	})
}

// FuzzParseChat: no panic on any body.
func FuzzParseChat(f *testing.F) {
	fuzzSeeds(f,
		`{"choices":[{"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`,
		`{"choices":[{"delta":{"content":"h"},"finish_reason":null}]}`,
		`{"choices":[{"delta":null,"message":7}]}`, `{"error":{"message":"x","code":400}}`, `{}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		if c, err := parseChat(body); err == nil && !c.HasChoice {
			t.Fatal("a chat response without choices was accepted")
		}
		parseChatChunk(body)
	})
}

func TestSnippet(t *testing.T) {
	if got := snippet([]byte("a\nb\x00c\xffd"), 10); got != "a b c\uFFFDd" {
		t.Errorf("%q", got)
	}
	if got := snippet([]byte("abcdef"), 3); got != "abc…" {
		t.Errorf("%q", got)
	}
}
