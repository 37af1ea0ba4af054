import { Alert, Button } from "@/components/ui";

/** What a data screen shows when its data could not be loaded: why, and a way to ask again. */
export function LoadError({
  title,
  error,
  onRetry,
}: {
  title: string;
  error: { message: string };
  onRetry: () => void;
}) {
  return (
    <Alert
      tone="error"
      title={title}
      action={
        <Button size="small" variant="secondary" onClick={onRetry}>
          Try again
        </Button>
      }
    >
      {error.message}
    </Alert>
  );
}
