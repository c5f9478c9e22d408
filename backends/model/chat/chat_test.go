package chat

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// conv is the conversation of the hand-checked outputs: a system message,
// a user turn, an answer with stray spaces, and a follow-up.
var conv = []Message{
	{"system", "Answer briefly."},
	{"user", "Capital of France?"},
	{"assistant", " Paris. "},
	{"user", "And Italy?"},
}

// Expected outputs of conv with the generation prompt, written by hand from
// each family's format.
func TestFormatByHand(t *testing.T) {
	cases := []struct {
		name, want string
		addsBOS    bool
	}{
		{"plain", "Answer briefly.\n\nCapital of France?\n\n Paris. \n\nAnd Italy?", false},
		{"chatml", "<|im_start|>system\nAnswer briefly.<|im_end|>\n" +
			"<|im_start|>user\nCapital of France?<|im_end|>\n" +
			"<|im_start|>assistant\n Paris. <|im_end|>\n" +
			"<|im_start|>user\nAnd Italy?<|im_end|>\n" +
			"<|im_start|>assistant\n", false},
		{"llama3", "<|begin_of_text|>" +
			"<|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nCapital of France?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\nParis.<|eot_id|>" +
			"<|start_header_id|>user<|end_header_id|>\n\nAnd Italy?<|eot_id|>" +
			"<|start_header_id|>assistant<|end_header_id|>\n\n", true},
		{"llama2", "<s>[INST] <<SYS>>\nAnswer briefly.\n<</SYS>>\n\nCapital of France? [/INST] Paris. </s>" +
			"<s>[INST] And Italy? [/INST]", true},
		{"mistral", "<s>[INST] Answer briefly.\n\nCapital of France? [/INST] Paris. </s>[INST] And Italy? [/INST]", true},
		{"minicpm", "Answer briefly.<用户>Capital of France?<AI>Paris.<用户>And Italy?<AI>", false},
		{"gemma", "<bos><start_of_turn>user\nAnswer briefly.\n\nCapital of France?<end_of_turn>\n" +
			"<start_of_turn>model\nParis.<end_of_turn>\n" +
			"<start_of_turn>user\nAnd Italy?<end_of_turn>\n" +
			"<start_of_turn>model\n", true},
	}
	if len(cases) != len(Names()) {
		t.Fatalf("%d cases for %d names", len(cases), len(Names()))
	}
	for _, c := range cases {
		tm, err := ByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if tm.Name() != c.name {
			t.Errorf("ByName(%q).Name() = %q", c.name, tm.Name())
		}
		if tm.AddsBOS() != c.addsBOS {
			t.Errorf("%s: AddsBOS = %v, want %v", c.name, tm.AddsBOS(), c.addsBOS)
		}
		got, err := tm.Format(conv, true)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got  %q\n want %q", c.name, got, c.want)
		}
	}
}

func TestGenerationPrompt(t *testing.T) {
	one := []Message{{"user", "Hi"}}
	cases := []struct{ name, without, with string }{
		{"chatml", "<|im_start|>user\nHi<|im_end|>\n", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"},
		{"llama3", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
			"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"gemma", "<bos><start_of_turn>user\nHi<end_of_turn>\n", "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"},
		{"llama2", "<s>[INST] Hi [/INST]", "<s>[INST] Hi [/INST]"},
		{"mistral", "<s>[INST] Hi [/INST]", "<s>[INST] Hi [/INST]"},
		{"minicpm", "<用户>Hi<AI>", "<用户>Hi<AI>"},
		{"plain", "Hi", "Hi"},
	}
	for _, c := range cases {
		tm, _ := ByName(c.name)
		for _, gen := range []bool{false, true} {
			want := c.without
			if gen {
				want = c.with
			}
			if got, err := tm.Format(one, gen); err != nil || got != want {
				t.Errorf("%s gen=%v: %q, %v; want %q", c.name, gen, got, err, want)
			}
		}
	}
}

func TestSpecialTokens(t *testing.T) {
	tm, err := New("llama2", Special{BOS: "<BOS>", EOS: "<EOS>"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tm.Format([]Message{{"user", "a"}, {"assistant", "b"}, {"user", "c"}}, true)
	if want := "<BOS>[INST] a [/INST] b <EOS><BOS>[INST] c [/INST]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	tm, _ = New("llama3", Special{BOS: "<B>"})
	if got, _ := tm.Format([]Message{{"user", "a"}}, false); !strings.HasPrefix(got, "<B><|start_header_id|>") {
		t.Errorf("llama3 with BOS <B>: %q", got)
	}
}

func TestFormatErrors(t *testing.T) {
	cases := []struct {
		name string
		msgs []Message
		want string
	}{
		{"chatml", nil, "no messages"},
		{"plain", nil, "no messages"},
		{"chatml", []Message{{"", "x"}}, "messages[0]: empty role"},
		{"llama3", []Message{{"user", "x"}, {"", "x"}}, "messages[1]: empty role"},
		{"llama2", []Message{{"assistant", "x"}}, `messages[0]: role "assistant", want "user"`},
		{"mistral", []Message{{"system", "s"}, {"user", "x"}, {"user", "y"}}, `messages[2]: role "user", want "assistant"`},
		{"gemma", []Message{{"system", "s"}}, "a system message alone"},
		{"gemma", []Message{{"user", "x"}, {"system", "s"}}, `messages[1]: role "system", want "assistant"`},
		{"minicpm", []Message{{"tool", "x"}}, `messages[0]: role "tool"`},
	}
	for _, c := range cases {
		tm, _ := ByName(c.name)
		_, err := tm.Format(c.msgs, true)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: err = %v, want containing %q", c.name, c.msgs, err, c.want)
		}
	}
	if _, err := ByName("vicuna"); err == nil || !strings.Contains(err.Error(), `chat template "vicuna" is unknown (want auto or one of chatml, gemma,`) {
		t.Errorf("ByName(vicuna): %v", err)
	}
	if _, err := ByName("auto"); err == nil || !strings.Contains(err.Error(), "Resolve") {
		t.Errorf("ByName(auto): %v", err)
	}
}

// Each fixture config gives the expected family, and the formatted
// conversations match the golden files (go test -update rewrites them).
func TestConfigs(t *testing.T) {
	cases := []struct {
		file, family string
		bos, eos     string
		addBOS       *bool
	}{
		{"chatml", "chatml", "", "<|im_end|>", ptr(false)},
		{"chatml-escaped", "chatml", "", "<|im_end|>", nil},
		{"llama3", "llama3", "<|begin_of_text|>", "<|eot_id|>", nil},
		{"llama2", "llama2", "<s>", "</s>", ptr(true)},
		{"mistral", "mistral", "<s>", "</s>", ptr(true)},
		{"minicpm", "minicpm", "<s>", "</s>", ptr(true)},
		{"gemma", "gemma", "<bos>", "<eos>", ptr(true)},
		{"none", "plain", "<s>", "</s>", ptr(true)},
	}
	convs := []struct {
		name string
		msgs []Message
	}{
		{"user", []Message{{"user", "What is the capital of France?"}}},
		{"system", []Message{{"system", "Answer briefly."}, {"user", "  Hi!  "}}},
		{"multi", conv},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "configs", c.file+".json")
			tm, cfg, err := FromTokenizerConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if tm.Name() != c.family {
				t.Errorf("family %q, want %q", tm.Name(), c.family)
			}
			if cfg.BOSToken != c.bos || cfg.EOSToken != c.eos || fmt.Sprint(deref(cfg.AddBOSToken)) != fmt.Sprint(deref(c.addBOS)) {
				t.Errorf("config bos %q eos %q add_bos %v, want %q %q %v", cfg.BOSToken, cfg.EOSToken, deref(cfg.AddBOSToken), c.bos, c.eos, deref(c.addBOS))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s: template %s, AddsBOS %v\n", path, tm.Name(), tm.AddsBOS())
			for _, cv := range convs {
				for _, gen := range []bool{false, true} {
					out, err := tm.Format(cv.msgs, gen)
					if err != nil {
						out = "error: " + err.Error()
					}
					fmt.Fprintf(&b, "-- %s gen=%v --\n%s\n", cv.name, gen, strconv.Quote(out))
				}
			}
			golden(t, filepath.Join("testdata", c.file+".golden"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// The fixture ChatML templates: one writes a default system message, the
// other (with escaped newlines) none.
func TestChatMLDefaultSystem(t *testing.T) {
	tm, _, err := FromTokenizerConfig(filepath.Join("testdata", "configs", "chatml.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tm.Format([]Message{{"user", "Hi"}}, true)
	want := "<|im_start|>system\nYou are a careful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got, _ = tm.Format([]Message{{"system", "S"}, {"user", "Hi"}}, false)
	if want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"; got != want {
		t.Errorf("with a system message: got %q, want %q", got, want)
	}
	for _, c := range []struct{ tmpl, want string }{
		{`{{ '<|im_start|>system\nBe kind.<|im_end|>\n' }}`, "Be kind."},
		{"{{ '<|im_start|>system\nTwo\nlines.<|im_end|>' }}", "Two\nlines."},
		{`{{ '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}`, ""},
		{`{{ '<|im_start|>system\n' }}{{ system }}{{ '<|im_end|>' }}{{ '<|im_start|>system\nFixed.<|im_end|>' }}`, "Fixed."},
		{`{{ '<|im_start|>' + m.role }}`, ""},
	} {
		if got := chatMLDefaultSystem(c.tmpl); got != c.want {
			t.Errorf("chatMLDefaultSystem(%q) = %q, want %q", c.tmpl, got, c.want)
		}
	}
}

func TestRecognize(t *testing.T) {
	cases := []struct{ tmpl, want string }{
		{"{{ '<|start_header_id|>' }}{{ '<|im_start|>' }}", "llama3"},
		{"<|im_start|>", "chatml"},
		{"<start_of_turn>", "gemma"},
		{"<用户>{{ x }}<AI>", "minicpm"},
		{"[INST] <<SYS>>", "llama2"},
		{"[INST]", "mistral"},
		{`[{"name": "default", "template": "<start_of_turn>"}, {"name": "x", "template": "[INST]"}]`, "gemma"},
		{"[INST] {{ m }} [/INST]", "mistral"}, // starts with "[" but is not a list
	}
	for _, c := range cases {
		tm, err := Recognize(c.tmpl, Special{})
		if err != nil || tm.Name() != c.want {
			t.Errorf("Recognize(%q) = %v, %v; want %s", c.tmpl, tm, err, c.want)
		}
	}
	for _, tmpl := range []string{"", "### User: {{ x }}", `[{"name": "rag", "template": "<|im_start|>"}]`} {
		if _, err := Recognize(tmpl, Special{}); !errors.Is(err, ErrUnrecognized) {
			t.Errorf("Recognize(%q): err = %v, want ErrUnrecognized", tmpl, err)
		}
	}
}

func TestUnrecognizedConfig(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"unknown", "testdata/configs/unknown.json: chat template not recognised: it has none of the markers"},
		{"nodefault", `testdata/configs/nodefault.json: chat template not recognised: the list of chat templates (rag, tool_use) has none named "default"`},
	} {
		path := filepath.Join("testdata", "configs", c.file+".json")
		tm, cfg, err := FromTokenizerConfig(path)
		if !errors.Is(err, ErrUnrecognized) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrUnrecognized containing %q", c.file, err, c.want)
		}
		if tm != nil || cfg == nil {
			t.Errorf("%s: template %v, config %v; want nil and the config", c.file, tm, cfg)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct{ data, want string }{
		{`[]`, "cfg.json: not a JSON object"},
		{`{`, "cfg.json: not a JSON object"},
		{`{"chat_template": 3}`, `cfg.json: chat_template: want a string or a list of {"name", "template"}, got 3`},
		{`{"chat_template": [{"name": "a"}]}`, `cfg.json: chat_template[0]: want {"name": ..., "template": ...}, got {"name": "a"}`},
		{`{"chat_template": [{"name": "a", "template": "x"}, {"name": "a", "template": "y"}]}`, `chat_template[1]: duplicate name "a"`},
		{`{"bos_token": 1}`, `cfg.json: bos_token: want a string or {"content": ...}, got 1`},
		{`{"eos_token": {"id": 2}}`, `cfg.json: eos_token: want a string or {"content": ...}, got {"id": 2}`},
		{`{"add_bos_token": "yes"}`, `cfg.json: add_bos_token: want true or false, got "yes"`},
		{`{"add_eos_token": 1}`, `cfg.json: add_eos_token: want true or false, got 1`},
		{`{"bos_token": "` + strings.Repeat("é", 50) + `", "add_bos_token": 0}`, `add_bos_token: want true or false, got 0`},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.data), "cfg.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want containing %q", c.data, err, c.want)
		}
	}
	c, err := ParseConfig([]byte(`{"chat_template": null, "bos_token": null, "add_bos_token": null, "other": [1]}`), "cfg.json")
	if err != nil || c.ChatTemplate != "" || c.BOSToken != "" || c.AddBOSToken != nil {
		t.Errorf("nulls: %+v, %v", c, err)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	missing := ConfigPath(dir)
	if tm, cfg, err := Resolve("auto", missing); err != nil || tm.Name() != "plain" || cfg != nil {
		t.Errorf("auto without a config: %v, %v, %v", tm, cfg, err)
	}
	if tm, _, err := Resolve("", filepath.Join("testdata", "configs", "gemma.json")); err != nil || tm.Name() != "gemma" {
		t.Errorf("auto with gemma config: %v, %v", tm, err)
	}
	// A name chosen by the user, with the model's special tokens.
	if err := os.WriteFile(missing, []byte(`{"bos_token": "<B>", "eos_token": "<E>"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, cfg, err := Resolve("llama2", missing)
	if err != nil || cfg == nil {
		t.Fatal(cfg, err)
	}
	if got, _ := tm.Format([]Message{{"user", "q"}, {"assistant", "a"}}, false); got != "<B>[INST] q [/INST] a <E>" {
		t.Errorf("llama2 with the config's tokens: %q", got)
	}
	if _, _, err := Resolve("auto", filepath.Join("testdata", "configs", "unknown.json")); !errors.Is(err, ErrUnrecognized) {
		t.Errorf("auto with an unknown template: %v", err)
	}
	if _, _, err := Resolve("nope", missing); err == nil {
		t.Error("Resolve(nope): no error")
	}
	if err := os.WriteFile(missing, []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Resolve("plain", missing); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("Resolve with a broken config: %v", err)
	}
}

func TestAddBOS(t *testing.T) {
	l3, _ := ByName("llama3")
	cm, _ := ByName("chatml")
	if AddBOS(l3, true) || !AddBOS(cm, true) || AddBOS(cm, false) {
		t.Error("AddBOS: want false for a template that writes BOS or a model that wants none")
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"chat_template": [{"name": "default", "template": "<|im_start|>system\nX<|im_end|>"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "fuzz.json")
		if err != nil {
			return
		}
		tm, err := c.Template()
		if err != nil {
			if !errors.Is(err, ErrUnrecognized) {
				t.Fatalf("Template: %v does not wrap ErrUnrecognized", err)
			}
			return
		}
		for _, msgs := range [][]Message{conv, {{"user", string(data)}}} {
			if _, err := tm.Format(msgs, true); err != nil {
				t.Fatalf("%s: Format: %v", tm.Name(), err)
			}
		}
	})
}
