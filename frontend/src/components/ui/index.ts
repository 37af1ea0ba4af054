export { Alert, type AlertTone } from "./Alert";
export { Button, ButtonLink, type ButtonProps, buttonClass } from "./Button";
export { Card } from "./Card";
export { Field, type FieldControlProps, FormError } from "./Field";
export { Input } from "./Input";
export { Select, type SelectOption } from "./Select";
export { Spinner } from "./Spinner";
export { type Column, Table } from "./Table";
export { TextArea } from "./TextArea";
