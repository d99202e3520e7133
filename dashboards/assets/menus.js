/* Menus (dcc.Dropdown) put the keyboard in their search box when they open, so typing right after a click
   filters the options. Dash's dropdown focuses the selected option instead, and letters typed there are lost. */
(function () {
    "use strict";

    const SETTLE_MS = 600;  // how long after opening Dash may still move the focus onto the selected option
    let openedAt = 0;

    function searchBox(content) {
        return content && content.querySelector("input.dash-dropdown-search");
    }

    function focusSearch(content) {
        const box = searchBox(content);
        if (box && document.activeElement !== box) {
            box.focus();
        }
    }

    // A menu opened: focus its search box.
    new MutationObserver(function (records) {
        for (const record of records) {
            for (const node of record.addedNodes) {
                if (!(node instanceof HTMLElement)) continue;
                const content = node.matches(".dash-dropdown-content") ? node : node.querySelector(".dash-dropdown-content");
                if (content) {
                    openedAt = performance.now();
                    requestAnimationFrame(function () { focusSearch(content); });
                }
            }
        }
    }).observe(document.documentElement, {childList: true, subtree: true});

    // Dash then focuses the selected option: while the menu has just opened, the focus goes back to the search box.
    document.addEventListener("focusin", function (event) {
        const target = event.target;
        if (!(target instanceof HTMLElement) || performance.now() - openedAt > SETTLE_MS) return;
        const content = target.closest(".dash-dropdown-content");
        if (content && target !== searchBox(content)) {
            focusSearch(content);
        }
    }, true);

    // A navigation key ends the settling time: arrows move through the options as usual.
    // A printable key (not space, which ticks an option) pressed while an option has the focus goes to the search box.
    document.addEventListener("keydown", function (event) {
        const target = event.target;
        if (!(target instanceof HTMLElement)) return;
        const content = target.closest(".dash-dropdown-content");
        if (!content) return;
        if (event.key.length !== 1) {
            openedAt = 0;
            return;
        }
        if (event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey && target !== searchBox(content)) {
            focusSearch(content);
        }
    }, true);
})();
