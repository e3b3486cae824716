import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { svgSourceComment } from "../offline/render-svg";

const ROOT = path.resolve(__dirname, "..");

describe("docs: the rendered pictures of the diagrams (docs/diagrams/*.svg)", () => {
    for (const stack of ["production", "dr"]) {
        it(`${stack}: the SVG was rendered from the committed ${stack}.mmd (regenerate: npm run diagrams)`, () => {
            const mmd = `docs/diagrams/${stack}.mmd`;
            const svg = fs.readFileSync(path.join(ROOT, `docs/diagrams/${stack}.svg`), "utf8");
            const [first, second] = svg.split("\n");
            expect(first, `docs/diagrams/${stack}.svg is stale: npm run diagrams`).to.equal(svgSourceComment(mmd, fs.readFileSync(path.join(ROOT, mmd), "utf8")));
            expect(second).to.match(/^<svg [^>]*class="flowchart"/);
            // Every node of the diagram is in the picture (its label text), not an error page.
            // A node's name is the last line of its label (one word: SVG text splits lines, not names).
            const names = [...fs.readFileSync(path.join(ROOT, mmd), "utf8").matchAll(/^\s*r_\w+[[({/]+"([^"]+)"/gm)]
                .map((m) => m[1].split("<br/>").pop()!)
                .filter((name) => /^[\w.-]+$/.test(name));
            expect(names.length).to.be.greaterThan(10);
            for (const name of names) expect(svg, name).to.include(name);
        });
    }

    it("a picture of another version of its diagram is found", () => {
        const mmd = fs.readFileSync(path.join(ROOT, "docs/diagrams/production.mmd"), "utf8");
        expect(svgSourceComment("docs/diagrams/production.mmd", `${mmd}\n%% changed`)).to.not.equal(svgSourceComment("docs/diagrams/production.mmd", mmd));
    });
});
