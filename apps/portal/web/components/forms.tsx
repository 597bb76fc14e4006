import type { ReactNode } from "react";
import { Feedback, useAction } from "../ui.js";

/**
 * A form that runs one action on submit: the page's busy state, its error or its success note (what
 * `onSubmit` returns), and one submit button after the fields.
 */
export function ActionForm(props: {
  /** The form's accessible name. */
  label: string;
  heading: string;
  submit: string;
  onSubmit: () => Promise<string | undefined>;
  children: ReactNode;
}) {
  const action = useAction();
  return (
    <form
      className="stack panel"
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        action.run(props.onSubmit);
      }}
    >
      <h2>{props.heading}</h2>
      {props.children}
      <div>
        <button type="submit" disabled={action.busy}>
          {props.submit}
        </button>
      </div>
      <Feedback error={action.error} note={action.note} />
    </form>
  );
}

/** A labelled text input with an optional hint below it, tied to it by aria-describedby. */
export function TextField(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  hint?: ReactNode;
  /** Id of the hint (unique on the page); required with `hint`. */
  hintId?: string;
  hintClass?: string;
  /** The hint changes as the user types: announce it. */
  live?: boolean;
  type?: "text" | "url";
  required?: boolean;
  placeholder?: string;
  inputMode?: "numeric";
}) {
  return (
    <label>
      {props.label}
      <input
        name={props.name}
        type={props.type}
        required={props.required}
        placeholder={props.placeholder}
        inputMode={props.inputMode}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-describedby={props.hint ? props.hintId : undefined}
      />
      {props.hint && (
        <span
          id={props.hintId}
          className={`hint ${props.hintClass ?? ""}`.trim()}
          aria-live={props.live ? "polite" : undefined}
        >
          {props.hint}
        </span>
      )}
    </label>
  );
}

export function DescriptionField(props: { value: string; onChange: (value: string) => void }) {
  return <TextField label="Description" name="description" value={props.value} onChange={props.onChange} />;
}

/** The event types an endpoint subscribes to, as typed into one field (see `splitList`). */
export function EventTypesField(props: { value: string; onChange: (value: string) => void; id: string }) {
  return (
    <TextField
      label="Event types"
      name="event-types"
      value={props.value}
      onChange={props.onChange}
      hintId={props.id}
      hint="Comma-separated, e.g. invoice.paid, user.* — empty receives every type."
    />
  );
}
