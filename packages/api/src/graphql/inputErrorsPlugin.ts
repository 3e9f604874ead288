/**
 * An envelop plugin that keeps input values out of error messages and names the argument instead.
 *
 * graphql-js reports a value that does not fit its type by quoting it ("Variable "$id" got invalid
 * value "0101901234"; …", "Int cannot represent non-integer value: …"). A value may be a CPR number,
 * so these errors are rewritten to `Invalid <argument>: <expectation>` with `extensions.code =
 * BAD_USER_INPUT` and `extensions.field` = the argument (dotted for input fields, e.g.
 * `input.birthDate`), both for literals (validation) and for variables (coercion before execution).
 *
 * Syntax errors lose the quoted token ("Unexpected String" rather than the string). Only known,
 * value-free expectations are kept; anything else becomes "is not a valid value". In
 * production the "Did you mean …?" suggestions are dropped too: with introspection off they would
 * otherwise reveal the schema.
 */
import { Kind, visit, type ASTNode, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import { createGraphQLError, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { isGraphQLError } from './errors.ts';
import { SCALAR_EXPECTATIONS } from './scalars.ts';

/** Where each value node and variable of a document sits: the argument path it is given to. */
interface ArgumentPaths {
  byNode: Map<ASTNode, string>;
  byVariable: Map<string, string>;
}

function argumentPaths(document: DocumentNode): ArgumentPaths {
  const byNode = new Map<ASTNode, string>();
  const byVariable = new Map<string, string>();
  const path: string[] = [];
  const enter = (name: string, value: ASTNode, field?: ASTNode) => {
    path.push(name);
    byNode.set(value, path.join('.'));
    if (field) byNode.set(field, path.join('.'));
  };
  const leave = () => void path.pop();
  visit(document, {
    Argument: { enter: (node) => enter(node.name.value, node.value), leave },
    ObjectField: { enter: (node) => enter(node.name.value, node.value, node), leave },
    ListValue: {
      enter(node) {
        const at = path.join('.');
        node.values.forEach((item, i) => byNode.set(item, `${at}.${i}`));
      },
    },
    Variable(node) {
      if (path.length > 0 && !byVariable.has(node.name.value)) byVariable.set(node.name.value, path.join('.'));
    },
  });
  return { byNode, byVariable };
}

/** Value-free expectations graphql-js states; kept as they are. */
const KEEP = [
  /^Field "[^"\\]+" of required type "[^"\\]+" was not provided\.$/,
  /^Field "[^"\\]+" is not defined by type "[^"\\]+"\.( Did you mean [^:]*\?)?$/,
  /^Field "[^"\\]+" must be non-null\.$/,
  /^Expected type "[^"\\]+" to be an object\.$/,
  /^Expected type "[^"\\]+"\.$/,
];

/** Expectations that quote the value: the value is cut off. */
const TRIM: [RegExp, string][] = [
  [/^([A-Za-z]+ cannot represent [^:]*?)(?::[\s\S]*)?$/, '$1'],
  [/^Enum "([^"\\]+)" cannot represent [\s\S]*$/, 'must be a value of enum $1'],
  [/^Value [\s\S]* does not exist in "([^"\\]+)" enum\.[\s\S]*$/, 'must be a value of enum $1'],
  [/^Expected value of type "([^"\\]+)", found [\s\S]*$/, 'must be a value of type $1'],
  [/^Expected type "([^"\\]+)"\. [\s\S]*$/, 'must be a value of type $1'],
];

export function valueFreeReason(error: Error | undefined): string {
  if (!error) return 'is not a valid value';
  const message = error.message;
  if (SCALAR_EXPECTATIONS.has(message)) return message;
  if (KEEP.some((re) => re.test(message))) return message;
  for (const [re, replacement] of TRIM) if (re.test(message)) return message.replace(re, replacement);
  return 'is not a valid value';
}

const isRewritten = (error: GraphQLError) => error.extensions?.code === 'BAD_USER_INPUT' && typeof error.extensions.field === 'string';

const inputError = (field: string, reason: string, source: GraphQLError) =>
  createGraphQLError(`Invalid ${field}: ${reason}`, { nodes: source.nodes ?? null, extensions: { code: 'BAD_USER_INPUT', field } });

const VALUE_KINDS = new Set<string>([
  Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOLEAN, Kind.NULL, Kind.ENUM, Kind.LIST, Kind.OBJECT, Kind.OBJECT_FIELD, Kind.VARIABLE,
]);

/** A literal that failed validation: named by its argument path, the value cut off. */
function rewriteValidationError(error: GraphQLError, paths: ArgumentPaths): GraphQLError {
  if (isRewritten(error)) return error;
  const node = error.nodes?.[0];
  if (!node || !VALUE_KINDS.has(node.kind)) return error;
  const field = paths.byNode.get(node);
  if (field === undefined) return error;
  return inputError(field, valueFreeReason(error), error);
}

const GOT_INVALID = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;
const NOT_PROVIDED = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" of (?:required|non-null) type "[^"\\]+" (?:was not provided|must not be null)\.$/;

/** A variable that failed coercion: named by the argument it is given to. */
function rewriteVariableError(error: GraphQLError, paths: ArgumentPaths): GraphQLError {
  if (isRewritten(error) || error.path !== undefined) return error;
  const missing = NOT_PROVIDED.exec(error.message);
  if (missing) {
    const field = paths.byVariable.get(missing[1]!) ?? `$${missing[1]!}`;
    return createGraphQLError(error.message, { nodes: error.nodes ?? null, extensions: { code: 'BAD_USER_INPUT', field } });
  }
  const invalid = GOT_INVALID.exec(error.message);
  if (!invalid) return error;
  const name = invalid[1]!;
  // "… at "name.sub[0]"; reason": the path inside the variable. A quoted value cannot contain an
  // unescaped `"`, so the last such match is the one graphql-js wrote.
  const at = [...error.message.matchAll(new RegExp(`at "${name}((?:\\.[_A-Za-z][_0-9A-Za-z]*|\\[\\d+\\])*)"; `, 'g'))].at(-1)?.[1] ?? '';
  const base = paths.byVariable.get(name) ?? `$${name}`;
  const field = base + at.replace(/\[(\d+)\]/g, '.$1');
  return inputError(field, valueFreeReason(error.originalError), error);
}

/** `Syntax Error: Unexpected String "…".`: the token's value is cut off, its kind kept. */
function rewriteSyntaxError(error: GraphQLError): GraphQLError {
  const message = error.message.replace(/ (String|BlockString|Int|Float|Name) "[\s\S]*"/, ' $1');
  return message === error.message
    ? error
    : createGraphQLError(message, { source: error.source ?? null, positions: error.positions ?? null, extensions: error.extensions });
}

const dropSuggestions = (error: GraphQLError): GraphQLError => {
  const message = error.message.replace(/ Did you mean [\s\S]*\?$/, '');
  return message === error.message
    ? error
    : createGraphQLError(message, { nodes: error.nodes ?? null, path: error.path ?? null, originalError: error.originalError ?? null, extensions: error.extensions });
};

export function useValueFreeInputErrors({ hideSuggestions }: { hideSuggestions: boolean }): Plugin {
  const finish = <E>(errors: readonly E[], rewrite: (e: GraphQLError) => GraphQLError): E[] =>
    errors.map((e) => (isGraphQLError(e) ? ((hideSuggestions ? dropSuggestions(rewrite(e)) : rewrite(e)) as E) : e));

  const rewriteResult = (document: DocumentNode, result: ExecutionResult, setResult: (r: ExecutionResult) => void) => {
    if (!result.errors?.length) return;
    const paths = argumentPaths(document);
    setResult({ ...result, errors: finish(result.errors, (e) => rewriteVariableError(e, paths)) });
  };

  return {
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (isGraphQLError(result) && result.message.startsWith('Syntax Error:')) replaceParseResult(rewriteSyntaxError(result));
      };
    },
    onValidate({ params }) {
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        const paths = argumentPaths(params.documentAST);
        setResult(finish(result, (e) => rewriteValidationError(e, paths)));
      };
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) rewriteResult(args.document, result, setResult);
        },
      };
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) rewriteResult(args.document, result, setResult);
        },
      };
    },
  };
}
