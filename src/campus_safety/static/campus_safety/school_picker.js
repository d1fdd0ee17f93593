/* The school picker (web/widgets.py SchoolPicker): a select of more schools than a list
   can show becomes a search box. Typing asks /schools/search.json (name, code, district,
   police station; the user's schools only, 20 at most) and lists the matches with their
   district and station; ↑/↓ move, Enter chooses, Esc closes (the WAI-ARIA combobox
   pattern). The select stays in the form, hidden, and carries the choice: the server
   checks it against the user's scope as it always did. A campaign's picker (multiple)
   lists the chosen schools as chips with a remove button, counts them, and can add
   every match at once (a district's, a police station's: ``&all=1``). Loaded on every page (base.html),
   so any form whose school field uses the widget gets it; works in parts htmx swaps in. */
(function () {
  "use strict";
  var DELAY_MS = 180;
  var made = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function fire(select) {
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function enhance(select) {
    if (select.dataset.pickerReady) { return; }
    select.dataset.pickerReady = "true";
    made += 1;
    var texts = select.dataset;
    var multiple = select.multiple;
    var base = select.id || "school-picker-" + made;
    var box = el("div", "school-picker" + (multiple ? " multiple" : ""));
    var chips = multiple ? el("ul", "sp-chips") : null;
    var summary = multiple ? el("div", "sp-summary") : null;
    var count = multiple ? el("span", "sp-count") : null;
    var field = el("div", "sp-field");
    var input = el("input", "sp-input");
    var list = el("ul", "sp-list");
    var note = el("div", "sp-note");
    var results = [];
    var active = -1;
    var asked = 0;
    var timer = null;

    input.type = "text";
    input.id = base + "-search";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.placeholder = texts.placeholder || "";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", base + "-list");
    list.id = base + "-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    note.setAttribute("aria-live", "polite");
    note.id = base + "-note";
    input.setAttribute("aria-describedby", note.id);
    if (select.required) {  // the hidden select cannot show the browser's message
      select.required = false;
      input.setAttribute("aria-required", "true");
    }
    if (select.id) {
      document.querySelectorAll('label[for="' + select.id + '"]').forEach(function (label) {
        label.htmlFor = input.id;
      });
    }
    if (multiple) {
      var clear = el("button", "sp-clear", texts.removeAll || "Remove all");
      clear.type = "button";
      clear.addEventListener("click", function () {
        chosen().forEach(function (option) { option.selected = false; option.remove(); });
        showChosen();
        fire(select);
        input.focus();
      });
      summary.appendChild(count);
      summary.appendChild(clear);
      box.appendChild(summary);
      box.appendChild(chips);
    }
    field.appendChild(input);
    field.appendChild(list);
    box.appendChild(field);
    box.appendChild(note);
    select.hidden = true;
    select.tabIndex = -1;
    select.insertAdjacentElement("afterend", box);

    function chosen() {
      return Array.prototype.filter.call(select.options, function (o) { return o.selected && o.value; });
    }

    function showChosen() {
      if (!multiple) {
        var current = chosen()[0];
        input.value = current ? current.dataset.name || current.text : "";
        return;
      }
      chips.textContent = "";
      var all = chosen();
      summary.hidden = !all.length;
      count.textContent = (texts.chosen || "{n}").replace("{n}", all.length.toLocaleString());
      all.forEach(function (option) {
        var name = option.dataset.name || option.text;
        var chip = el("li", "sp-chip");
        chip.appendChild(el("span", null, name));
        var remove = el("button", "sp-remove", "×");
        remove.type = "button";
        remove.setAttribute("aria-label", (texts.remove || "Remove") + " " + name);
        remove.addEventListener("click", function () {
          option.selected = false;
          option.remove();
          showChosen();
          fire(select);
          input.focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }

    function render(data) {
      results = data.results || [];
      list.textContent = "";
      active = -1;
      results.forEach(function (school, i) {
        var item = el("li", "sp-option");
        item.id = base + "-option-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.index = String(i);
        item.appendChild(el("span", "sp-name", school.name));
        var meta = [school.code, school.district, school.station].filter(Boolean).join(" · ");
        item.appendChild(el("span", "sp-meta", meta));
        list.appendChild(item);
      });
      if (multiple && results.length > 1) {  // a campaign: every match at once
        var every = el("li", "sp-option sp-all", texts.addAll || "");
        every.id = base + "-option-all";
        every.setAttribute("role", "option");
        every.setAttribute("aria-selected", "false");
        every.dataset.all = "true";
        list.appendChild(every);
      }
      if (data.more) {  // said under the last match too (the list covers the note)
        var more = el("li", "sp-more", texts.more || "");
        more.setAttribute("aria-hidden", "true");
        list.appendChild(more);
      }
      note.textContent = !results.length ? texts.noMatch || "" : data.more ? texts.more || "" : "";
      list.hidden = !results.length;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
    }

    function ask(every) {
      var url = texts.searchUrl + "?q=" + encodeURIComponent(input.value.trim()) + (every ? "&all=1" : "");
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        });
    }

    function search() {
      var ticket = ++asked;
      ask(false)
        .then(function (data) { if (ticket === asked) { render(data); } })
        .catch(function () {
          if (ticket === asked) { close(); note.textContent = texts.failed || ""; }
        });
    }

    function optionFor(school) {
      var value = String(school.id);
      var option = Array.prototype.filter.call(select.options, function (o) { return o.value === value; })[0];
      if (!option) {
        option = new Option(school.name, value);
        select.appendChild(option);
      }
      option.dataset.name = school.name;
      return option;
    }

    function addEveryMatch() {
      var ticket = ++asked;
      close();
      ask(true).then(function (data) {
        if (ticket !== asked) { return; }
        var added = 0;
        data.results.forEach(function (school) {
          var option = optionFor(school);
          if (!option.selected) { option.selected = true; added += 1; }
        });
        input.value = "";
        showChosen();
        fire(select);
        note.textContent = (texts.added || "{n}").replace("{n}", added.toLocaleString());
      }).catch(function () { note.textContent = texts.failed || ""; });
    }

    function pick(index) {
      var item = list.querySelectorAll("[role=option]")[index];
      if (item && item.dataset.all) { addEveryMatch(); } else { choose(index); }
    }

    function choose(index) {
      var school = results[index];
      if (!school) { return; }
      var option = optionFor(school);
      var value = option.value;
      if (!multiple) {
        Array.prototype.forEach.call(select.options, function (o) {
          if (o !== option && o.value) { o.remove(); }
        });
      }
      option.selected = true;
      if (!multiple) { select.value = value; }
      close();
      note.textContent = "";
      showChosen();
      if (multiple) { input.value = ""; }
      fire(select);
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
    input.addEventListener("focus", function () { if (!multiple) { input.select(); } });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) { search(); return; }
        highlight(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter") {
        if (open || input.value.trim()) { event.preventDefault(); }  // never submit half-chosen
        if (open && active >= 0) { pick(active); } else if (open && results.length === 1) { choose(0); }
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); }
        if (!multiple) { showChosen(); }
      } else if (event.key === "Backspace" && multiple && !input.value) {
        var last = chosen().pop();
        if (last) { last.selected = false; last.remove(); showChosen(); fire(select); }
      }
    });
    input.addEventListener("blur", function () {
      close();
      if (multiple) { return; }
      if (!input.value.trim() && chosen().length) {  // emptied: no school
        select.value = "";
        fire(select);
      }
      showChosen();
    });
    // Choosing with the mouse must not blur the input first (it would close the list).
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("[role=option]");
      if (item && item.dataset.all) { addEveryMatch(); } else if (item) { choose(Number(item.dataset.index)); }
    });
    showChosen();
  }

  function enhanceIn(root) {
    if (root.matches && root.matches("select[data-school-picker]")) { enhance(root); }
    root.querySelectorAll("select[data-school-picker]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhanceIn(document); });
  } else {
    enhanceIn(document);
  }
  document.addEventListener("htmx:load", function (event) { enhanceIn(event.detail.elt); });
})();
