// Package qa provides question-answering material for the long-context QA
// tasks: a deterministic generator of synthetic multi-document questions,
// and loaders for SQuAD, HotpotQA and JSON Lines files in the RULER and
// LongBench styles. Everything becomes a list of [Item] values: a question,
// its gold answers, the [Document] values that contain the answer (Gold)
// and, where the source has them, documents that do not (Distractors). A
// task places the gold documents among distractors to fill a context of the
// length it tests, asks the question and scores the output against Answers
// (with the scorers of tasks/score). This package owns the material only,
// not prompts, placement or scoring.
//
// # Synthetic questions
//
// [Synthetic] invents a world and asks questions about it. The world holds
// cities, companies and people whose names are built from syllables
// ("Pougrein Tralpoun", "Roupous", "Stoukre Mills"). A city has a founding
// year, a river and a population; a company a founding year, a seat (a
// city), a best-known product and a number of employees; a person a birth
// city, a birth year, an employer (a company), an occupation and a most
// prized possession. Each entity has one encyclopedia-style document, titled
// with its name: one sentence per attribute, plus two or three filler
// sentences, in random order. A filler sentence names the subject and
// either nothing else or one other entity, never one the subject's
// attributes name. Which entities a document names is restricted by kind:
// a city's document names other cities only, a company's names cities and
// other companies, a person's anything. An attribute is stated only in its
// entity's own document.
//
// Questions are single-hop ("In which city was Pougrein Tralpoun born?",
// answered by the person's document) or two-hop ("In which year was the
// city founded where Pougrein Tralpoun was born?", Gold = [the person's
// document, the city's document]): twelve single-hop and ten two-hop
// templates over person→company, person→city and company→city links.
// SyntheticOptions.Hops picks 1, 2 or a mix. Every item satisfies, and the
// tests check:
//
//   - no two entities share a name: every invented word of a name (all of
//     it but a company's suffix, such as "Mills") is used once in the world
//     and is no word of any template or vocabulary list, so a name found in
//     a text is that entity;
//   - the answer (a name, a year, a number or a short phrase, checkable by
//     exact match) is stated exactly once in the gold documents, as a whole
//     word, ignoring case;
//   - two-hop: the answer is only in the second document, the subject is
//     named only in the first, and the first names the bridge entity, so
//     neither document alone answers the question;
//   - no question is asked twice within one call;
//   - Item.Distractors (SyntheticOptions.Distractors of them, drawn from the
//     same world) are neither gold documents nor name the subject or the
//     bridge entity, so they can neither answer the question nor contradict
//     it, though they share its cities, companies and people.
//
// A task that needs more distractors than an item carries, as many as a
// 128K-token context takes, reads them from a [DistractorStream]
// ([SyntheticDistractors] for a fixed number): an unbounded world of the
// same shape whose name words come from the other half of the name space
// (split by a hash of the word), so that no stream document, of any seed,
// names an entity of any item.
//
// Determinism: the same seed and options give byte-identical output on
// every machine and Go release. All draws come from a math/rand/v2 PCG
// source seeded with the caller's seed and a fixed stream constant; bounded
// integers and shuffles are computed in this package from the source's raw
// 64-bit outputs rather than by rand.Rand's methods, no map is iterated and
// no floating point is used. Entities are generated in a fixed pattern and
// only appended, so output is prefix-stable: Synthetic(seed, m, opt) is the
// first m items of Synthetic(seed, n, opt) for m <= n, and the first k
// documents of a stream do not depend on how many follow. Item IDs are
// "synthetic-<seed>-<index>". The world grows with the index of the item,
// to about 4 documents per item plus 2 per requested distractor.
//
// # Loaders
//
// [Load] and [LoadReader] read a file in a named format, or detect it;
// [ReadSQuAD], [ReadHotpot] and [ReadJSONL] read one format. [Options] bound
// the input (1 GiB per file and 16 MiB per JSONL line unless set) and
// choose what to keep. Whatever the format:
//
//   - every error is a *[ParseError] that names the file, the line (JSONL
//     always; JSON files for syntax errors, with the column) and the JSON
//     path of the value at fault, such as
//     data[3].paragraphs[1].qas[0].answers, and says what is wrong;
//     nothing panics on any input (the fuzz tests check);
//   - an item has a question that is not blank, and its answers are its
//     gold answers with exact duplicates removed (first-seen order), so that
//     "fraction of answers found" scores are not weighted by annotator
//     agreement; answers are not trimmed or normalised;
//   - an ID used twice in one file is an error;
//   - a leading UTF-8 byte order mark is ignored; keys not named here are
//     ignored.
//
// SQuAD v1.1 and v2.0 ({"version", "data": [{"title", "paragraphs":
// [{"context", "qas": [{"id", "question", "answers": [{"text",
// "answer_start"}], "is_impossible", "plausible_answers"}]}]}]}): one item
// per question; Gold is its paragraph (Title = the article title), Hops 1,
// Source "squad". A question with is_impossible true (v2.0) becomes an item
// with Unanswerable set and no Answers: its plausible_answers are by
// definition not answers and are ignored, and its paragraph is still its
// Gold document, the passage the question was asked about, so a task can
// test abstention; Options.SkipUnanswerable drops these items instead. A
// question not marked impossible must have at least one answer with
// non-empty text; an impossible one must have none. answer_start is checked
// only with Options.CheckSpans.
//
// HotpotQA (the distractor-setting files: a list of {"_id", "question",
// "answer", "supporting_facts": [[title, sentence index], ...], "context":
// [[title, [sentences...]], ...], "type", "level"}): one item per example,
// Answers [answer], Gold the context paragraphs named in supporting_facts
// and Distractors the others, both in context order, Hops 2 (the dataset's
// design), Source "hotpotqa". A paragraph's text is its sentences
// concatenated as published (each keeps its leading space; one is added
// where neither side has one). A supporting fact whose title is not in the
// context (the fullwiki setting) is an error, as is a missing answer (the
// test files).
//
// JSON Lines: one item per non-blank line, each an object. By default the
// question is the first present of "question", "input" and "query", the
// answers of "answers", "outputs" and "answer", the ID of "_id", "id" and
// "index" (else "<file>:<line>"), the context "context" with the title
// "title"; [Fields] maps other keys, including dotted paths into nested
// objects. This reads LongBench records ("input" is the question, "context"
// the long context, "answers" a list) and RULER records ("input" the whole
// prompt as RULER writes it, "outputs" the answers, "index" the ID) as they
// are. Answers may be a string, a number, a list of those, or an object
// whose "text" holds them (the Hugging Face SQuAD shape). An empty answer
// list, or a true "is_impossible", makes the item Unanswerable; a record
// with no answers key at all is an error. A non-empty context becomes the
// one Gold document. Hops is 0 (not known); Source is "jsonl:" and the base
// name of the file. ReadJSONL streams the lines, holding one at a time (so
// does LoadReader for a name ending in .jsonl or .ndjson; detecting the
// format of other names reads the whole input first).
//
// Format detection ("auto"): a name ending in .jsonl or .ndjson is JSONL;
// otherwise a list is HotpotQA, a first line holding a complete object is
// JSONL unless it is a one-line SQuAD file (a "data" key and nothing after
// it), and an object spread over lines is SQuAD.
package qa
