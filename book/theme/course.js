// The course book's step-by-step viewer. Plain JavaScript, no library and no network: it
// works from the built book opened as files.
//
// mdbook-course (crates/mdbook-course) turns every included scenario table, timeline and
// failing schedule into a <figure data-viewer> that holds the table and the swimlane, with
// `data-row="i"` on each row of both, and the rows as JSON (script.viewer-data). This
// script adds the controls: step forwards and backwards, see who runs, who returned, who
// is blocked and the state after each step, and, for scenario tables, predict each step's
// outcome before it is revealed.
(function () {
    "use strict";

    function el(tag, attrs, text) {
        var e = document.createElement(tag);
        Object.keys(attrs || {}).forEach(function (k) {
            e.setAttribute(k, attrs[k]);
        });
        if (text !== undefined) {
            e.textContent = text;
        }
        return e;
    }

    var STATUS_WORDS = {
        idle: "idle",
        running: "running",
        ready: "ready",
        returned: "returned",
        blocked: "blocked",
        done: "finished",
        failed: "failed"
    };

    function listWords(items) {
        if (items.length === 0) {
            return "nothing";
        }
        if (items.length === 1) {
            return items[0];
        }
        return items.slice(0, -1).join(", ") + " and " + items[items.length - 1];
    }

    function Viewer(figure) {
        var script = figure.querySelector("script.viewer-data");
        this.figure = figure;
        this.data = JSON.parse(script.textContent);
        this.kind = this.data.kind;
        this.n = this.data.rows.length;
        this.cur = -1; // -1: every row shown, no stepping
        this.predict = false;
        this.revealed = [];
        this.score = { right: 0, done: 0 };
        this.rows = [];
        for (var i = 0; i < this.n; i++) {
            this.rows.push([]);
        }
        this.footers = [];
        var self = this;
        figure.querySelectorAll("[data-row]").forEach(function (node) {
            var r = node.getAttribute("data-row");
            if (r === "end") {
                self.footers.push(node);
            } else if (self.rows[+r]) {
                self.rows[+r].push(node);
            }
        });
        this.build();
        this.render();
    }

    Viewer.prototype.build = function () {
        var self = this;
        var noun = this.kind === "trace" || this.kind === "timeline" ? "event" : "step";
        var box = el("div", {
            class: "viewer",
            role: "group",
            "aria-label": "Step through this " + (this.kind === "scenario" ? "scenario" : "schedule")
        });
        var buttons = el("div", { class: "viewer-buttons" });
        function button(action, label, title) {
            var b = el("button", { type: "button", "data-action": action, title: title }, label);
            b.addEventListener("click", function () {
                self.act(action);
            });
            buttons.appendChild(b);
            return b;
        }
        this.bFirst = button("first", "« Start", "Go to the first " + noun);
        this.bPrev = button("prev", "◀ Back", "The previous " + noun);
        this.bNext = button("next", "Next ▶", "The next " + noun);
        this.bAll = button("all", "Show all", "Show every " + noun + " at once");
        if (this.data.predict) {
            var label = el("label", { class: "viewer-predict-toggle" });
            this.predictBox = el("input", { type: "checkbox", "data-action": "predict" });
            this.predictBox.addEventListener("change", function () {
                self.act("predict");
            });
            label.appendChild(this.predictBox);
            label.appendChild(document.createTextNode(" Predict, then reveal"));
            buttons.appendChild(label);
        }
        this.position = el("span", { class: "viewer-position", "aria-live": "polite" });
        buttons.appendChild(this.position);
        box.appendChild(buttons);

        this.panel = el("div", { class: "viewer-panel" });
        this.text = el("p", { class: "viewer-text" });
        this.lanes = el("ul", { class: "viewer-lanes", "aria-label": "threads" });
        this.chips = {};
        this.data.lanes.forEach(function (lane) {
            var li = el("li", { class: "viewer-lane", "data-lane": lane });
            li.appendChild(el("span", { class: "viewer-lane-name" }, lane));
            li.appendChild(el("span", { class: "viewer-lane-status" }, ""));
            self.lanes.appendChild(li);
            self.chips[lane] = li;
        });
        this.state = el("p", { class: "viewer-state" });
        this.form = el("form", { class: "viewer-predict" });
        this.form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            self.act("check");
        });
        this.feedback = el("p", { class: "viewer-feedback", "aria-live": "polite" });
        this.scoreLine = el("p", { class: "viewer-score" });
        this.failure = el("p", { class: "viewer-failure" });
        [this.text, this.lanes, this.state, this.form, this.feedback, this.scoreLine, this.failure]
            .forEach(function (e) {
                self.panel.appendChild(e);
            });
        box.appendChild(this.panel);
        box.addEventListener("keydown", function (ev) {
            if (ev.target && ev.target.tagName === "INPUT" && ev.target.type === "checkbox" &&
                ev.target.getAttribute("data-candidate")) {
                return;
            }
            if (ev.key === "ArrowRight") {
                self.act("next");
                ev.preventDefault();
            } else if (ev.key === "ArrowLeft") {
                self.act("prev");
                ev.preventDefault();
            }
        });
        var caption = this.figure.querySelector("figcaption");
        if (caption && caption.nextSibling) {
            this.figure.insertBefore(box, caption.nextSibling);
        } else {
            this.figure.insertBefore(box, this.figure.firstChild);
        }
        this.box = box;
    };

    Viewer.prototype.hidden = function (i) {
        return this.predict && i >= 0 && !this.revealed[i];
    };

    Viewer.prototype.act = function (action) {
        if (action === "first") {
            this.cur = 0;
        } else if (action === "next") {
            if (this.hidden(this.cur)) {
                return; // commit to a guess first
            }
            this.cur = this.cur < 0 ? 0 : Math.min(this.cur + 1, this.n - 1);
        } else if (action === "prev") {
            this.cur = this.cur < 0 ? this.n - 1 : Math.max(this.cur - 1, 0);
        } else if (action === "all") {
            this.cur = -1;
            if (this.predict) {
                this.predict = false;
                this.predictBox.checked = false;
            }
        } else if (action === "predict") {
            this.predict = this.predictBox.checked;
            this.revealed = [];
            this.score = { right: 0, done: 0 };
            this.feedback.textContent = "";
            this.cur = 0;
        } else if (action === "check") {
            this.check();
        }
        this.render();
    };

    Viewer.prototype.check = function () {
        var row = this.data.rows[this.cur];
        if (!this.hidden(this.cur) || !row.predict) {
            return;
        }
        var guessed = [];
        this.form.querySelectorAll("input[data-candidate]").forEach(function (box) {
            if (box.checked) {
                guessed.push(box.getAttribute("data-candidate"));
            }
        });
        var actual = row.predict.returns.slice();
        var right = guessed.length === actual.length && guessed.every(function (a) {
            return actual.indexOf(a) >= 0;
        });
        var callOf = {};
        row.predict.candidates.forEach(function (c) {
            callOf[c.actor] = c.call;
        });
        var names = function (actors) {
            return listWords(actors.map(function (a) {
                return callOf[a];
            }));
        };
        var stays = row.predict.candidates.filter(function (c) {
            return actual.indexOf(c.actor) < 0;
        }).map(function (c) {
            return c.actor;
        });
        var truth = "returned: " + names(actual) + "; still blocked: " + names(stays) + ".";
        this.revealed[this.cur] = { right: right };
        this.score.done += 1;
        if (right) {
            this.score.right += 1;
        }
        this.feedback.className = "viewer-feedback " + (right ? "right" : "wrong");
        this.feedback.setAttribute("data-result", right ? "right" : "wrong");
        this.feedback.textContent = (right ? "✓ Right: " : "✗ Not quite (you chose " +
            names(guessed) + "): ") + truth;
    };

    Viewer.prototype.render = function () {
        var self = this;
        var cur = this.cur;
        this.rows.forEach(function (nodes, i) {
            nodes.forEach(function (node) {
                node.classList.toggle("vw-future", cur >= 0 && i > cur);
                node.classList.toggle("vw-current", cur >= 0 && i === cur);
                node.classList.toggle("vw-hide-outcome", i === cur && self.hidden(i));
            });
        });
        var last = cur === this.n - 1 && !this.hidden(cur);
        this.footers.forEach(function (node) {
            node.classList.toggle("vw-future", cur >= 0 && !last);
        });
        var noun = this.kind === "scenario" ? "Step" : "Event";
        this.bPrev.disabled = cur === 0;
        this.bFirst.disabled = cur === 0;
        this.bNext.disabled = cur === this.n - 1 || this.hidden(cur);
        this.bAll.disabled = cur < 0;
        this.figure.setAttribute("data-current", String(cur));
        if (cur < 0) {
            this.position.textContent = "All " + this.n + " " + noun.toLowerCase() + "s";
            this.panel.hidden = true;
            return;
        }
        this.panel.hidden = false;
        this.position.textContent = noun + " " + (cur + 1) + " of " + this.n;
        var row = this.data.rows[cur];
        var hide = this.hidden(cur);
        this.panel.setAttribute("data-step", row.label);
        this.text.textContent = hide
            ? "Step " + row.label + ": " + row.predict.call + ". Which calls return during this step?"
            : row.text;
        this.data.lanes.forEach(function (lane, j) {
            var chip = self.chips[lane];
            var info = row.lanes[j];
            var running = row.running === lane;
            var status = hide ? (running ? "running" : "unknown") : info.status;
            chip.setAttribute("data-status", status);
            chip.setAttribute("data-running", running ? "true" : "false");
            var word = hide ? (running ? "calls now" : "?") : STATUS_WORDS[info.status];
            if (running && !hide && self.kind === "scenario") {
                word = "called, " + word;
            }
            chip.querySelector(".viewer-lane-status").textContent = word;
            chip.title = hide ? "" : info.note;
        });
        this.state.hidden = row.state === null || row.state === undefined;
        this.state.textContent = hide ? "State: ?" : "State: " + row.state;
        // The prediction form: one box per call that could return.
        this.form.hidden = !hide;
        this.form.textContent = "";
        if (hide) {
            var fs = el("fieldset");
            fs.appendChild(el("legend", {}, "Tick the calls that return during step " + row.label));
            row.predict.candidates.forEach(function (c) {
                var label = el("label");
                var box = el("input", { type: "checkbox", "data-candidate": c.actor });
                label.appendChild(box);
                label.appendChild(document.createTextNode(" " + c.call));
                fs.appendChild(label);
            });
            var reveal = el("button", { type: "submit", "data-action": "check" }, "Reveal");
            fs.appendChild(reveal);
            this.form.appendChild(fs);
            this.feedback.textContent = "";
            this.feedback.removeAttribute("data-result");
        } else if (this.predict && this.revealed[cur] === undefined) {
            this.feedback.textContent = "";
        }
        this.scoreLine.hidden = !this.predict;
        this.scoreLine.textContent = "Your predictions: " + this.score.right + " right of " +
            this.score.done + " steps" + (this.score.done === this.n ? " (all done)." : ".");
        this.scoreLine.setAttribute("data-right", String(this.score.right));
        this.scoreLine.setAttribute("data-done", String(this.score.done));
        this.failure.hidden = !(row.failure || (last && this.data.footer && this.kind === "trace"));
        this.failure.textContent = this.failure.hidden ? "" : this.data.footer || "";
        // Keep the current row in sight in a tall swimlane.
        var g = this.rows[cur].filter(function (n) {
            return n.tagName.toLowerCase() === "g";
        })[0];
        var wrap = g && g.closest(".swimlane-tall");
        if (g && wrap) {
            var gr = g.getBoundingClientRect();
            var wr = wrap.getBoundingClientRect();
            if (gr.top < wr.top || gr.bottom > wr.bottom) {
                wrap.scrollTop += gr.top - wr.top - wrap.clientHeight / 3;
            }
        }
    };

    function start() {
        document.querySelectorAll("figure[data-viewer]").forEach(function (figure) {
            try {
                figure.viewer = new Viewer(figure);
            } catch (e) {
                // A broken figure keeps its static table and swimlane.
                if (window.console) {
                    console.error("course viewer:", e);
                }
            }
        });
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
